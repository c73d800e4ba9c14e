"""Probes and evaluations of a table, each kept once and found again by what it is made of.

A probe is identified by the encoder checkpoint's content (SHA-256 of its bytes), the noisy set's
annotations and the settings the features depend on; an evaluation cell by its probe, the
benchmark's annotations, the split and N; a rank-accuracy score by its probe and the ranking
set's annotations and split. All are written once under the table's folder (``probes/<key>/``,
``cells/<key>.json``) and reused by every later run: a killed ``table`` run started again
recomputes nothing it had finished, and nothing finished is ever overwritten. The mean
predictor's cells are made and kept the same way, from the noisy set's labels.
"""

import dataclasses
import hashlib
import json
import os
import shutil
import tempfile

import numpy as np

from syrac.common.annotations import (
    annotations_path,
    load_count_set,
    load_item_metas,
    load_ranking_set,
)
from syrac.count.breakdowns import breakdowns
from syrac.common.files import read_json, timestamp, write_new_json
from syrac.count.core import CountSettings, evaluate, fit_probe, pair_rank_accuracy
from syrac.count.encoder_loading import load_encoder
from syrac.count.metrics import count_metrics, json_ready, rank_accuracy
from syrac.count.probe import CountProbe

PROBE_SETTINGS = ("input_shape", "preprocessing", "probe_batch_size")


def content_digest(path):
    """SHA-256 of a file's bytes, or of a folder's files (relative names and bytes, sorted)."""
    digest = hashlib.sha256()
    if os.path.isdir(path):
        for root, directories, files in os.walk(path):
            directories.sort()
            for name in sorted(files):
                full = os.path.join(root, name)
                digest.update(os.path.relpath(full, path).encode())
                _update_with_file(digest, full)
    else:
        _update_with_file(digest, path)
    return digest.hexdigest()


def _update_with_file(digest, path):
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)


@dataclasses.dataclass(frozen=True)
class KeptProbe:
    """A probe of the table's folder, with what it was fitted from and the key it is kept by."""

    key: str
    probe: CountProbe
    checkpoint: str
    params: dict


def cell_metric(cell, key):
    """A metric of an evaluation cell or results file; one written before the metric existed
    (NAE, the empty images, the breakdown) gets it from its per-image counts and predictions
    (a breakdown so made has the count ranges only: the metadata is not in the cell)."""
    if key == "breakdown" and key not in cell:
        return breakdowns(cell["predictions"], cell["counts"])
    if key not in cell:
        cell = json_ready(count_metrics(cell["predictions"], cell["counts"]))
    return cell[key]


def _key(document):
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()[:20]


class TableCache:
    """The probes and cells of one table folder, with the encoders loaded only when needed."""

    def __init__(self, folder, data_dir):
        self.folder = folder
        self.data_dir = data_dir
        self._digests = {}
        self._encoders = {}
        self.reused = 0
        self.computed = 0

    def digest(self, path):
        if path not in self._digests:
            self._digests[path] = content_digest(path)
        return self._digests[path]

    def encoder(self, checkpoint):
        if checkpoint not in self._encoders:
            self._encoders = {checkpoint: load_encoder(checkpoint)}  # keep one in memory
        return self._encoders[checkpoint]

    def probe(self, checkpoint, noisy_set, params):
        """The :class:`KeptProbe` of ``checkpoint`` fitted on ``noisy_set``: reused, or fitted
        and kept."""
        identity = {
            "encoder_sha256": self.digest(checkpoint),
            "noisy_set": noisy_set,
            "annotations_sha256": self.digest(annotations_path(self.data_dir, noisy_set)),
            **{key: params[key] for key in PROBE_SETTINGS},
        }
        key = _key(identity)
        folder = os.path.join(self.folder, "probes", key)
        if os.path.isfile(os.path.join(folder, "probe.json")):
            self.reused += 1
            return KeptProbe(key, CountProbe.load(folder), checkpoint, params)
        items = load_count_set(self.data_dir, noisy_set)
        probe = fit_probe(self.encoder(checkpoint), items, CountSettings.from_params(params),
                          progress=False)
        probe.record.fitted_at = timestamp()
        probe.record.provenance.update({
            "encoder_path": checkpoint, "train_data": noisy_set, "data_dir": self.data_dir,
            "encoder_sha256": identity["encoder_sha256"],
            "annotations_sha256": identity["annotations_sha256"]})
        os.makedirs(os.path.dirname(folder), exist_ok=True)
        staging = tempfile.mkdtemp(prefix=f".{key}.", dir=os.path.dirname(folder))
        probe.save(staging)
        try:
            os.rename(staging, folder)  # the whole probe appears at once, or not at all
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
            if not os.path.isfile(os.path.join(folder, "probe.json")):
                raise
        self.computed += 1
        return KeptProbe(key, probe, checkpoint, params)

    def _cell_path(self, identity):
        return os.path.join(self.folder, "cells", f"{_key(identity)}.json")

    def _kept(self, path):
        """The cell at ``path`` with its file name, or None when it is not made yet."""
        if not os.path.isfile(path):
            return None
        self.reused += 1
        return {**read_json(path), "file": path}

    def _keep(self, path, document):
        try:
            write_new_json(path, document, indent=1, sort_keys=False, allow_nan=False)
        except FileExistsError:  # a shard made the same cell meanwhile: the same content
            return {**read_json(path), "file": path}
        self.computed += 1
        return {**document, "file": path}

    def cells(self, kept, dataset, split, ns):
        """``{n: cell}`` of a :class:`KeptProbe` for every N: reused from ``cells/`` or
        evaluated (each image decoded once for all missing N) and written there."""
        checkpoint, params = kept.checkpoint, kept.params
        annotations = self.digest(annotations_path(self.data_dir, dataset))
        paths, found = {}, {}
        for n in ns:
            paths[n] = self._cell_path({
                "probe": kept.key, "dataset": dataset, "annotations_sha256": annotations,
                "split": split, "N": n, "eval": [params["input_shape"], params["preprocessing"]]})
            cell = self._kept(paths[n])
            if cell is not None:
                found[n] = cell
        missing = [n for n in ns if n not in found]
        if missing:
            items = load_count_set(self.data_dir, dataset, split=split)
            metas = load_item_metas(self.data_dir, dataset, split)
            results = evaluate(self.encoder(checkpoint), kept.probe, items,
                               CountSettings.from_params(params), missing, progress=False)
            for n, result in results.items():
                found[n] = self._keep(paths[n], {
                    "encoder_path": checkpoint, "encoder_sha256": self.digest(checkpoint),
                    "probe": kept.key, "dataset": dataset, "split": split, "N": n,
                    **json_ready(count_metrics(result.predictions, result.counts)),
                    "image_paths": result.image_paths,
                    "breakdown": breakdowns(result.predictions, result.counts, metas),
                    "counts": result.counts.tolist(), "predictions": result.predictions.tolist(),
                    "created": timestamp(),
                })
        return found

    def mean_cells(self, noisy_set, dataset, split, ns):
        """``{n: cell}`` of the mean predictor: every image counted as the mean label of
        ``noisy_set`` (the same at every N), kept in ``cells/`` like an encoder's."""
        noisy = self.digest(annotations_path(self.data_dir, noisy_set))
        annotations = self.digest(annotations_path(self.data_dir, dataset))
        found = {}
        for n in ns:
            path = self._cell_path({"mean_of": noisy_set, "noisy_sha256": noisy,
                                    "dataset": dataset, "annotations_sha256": annotations,
                                    "split": split, "N": n})
            found[n] = self._kept(path)
            if found[n] is None:
                labels = [label for _, label in load_count_set(self.data_dir, noisy_set)]
                items = load_count_set(self.data_dir, dataset, split=split)
                metas = load_item_metas(self.data_dir, dataset, split)
                counts = np.asarray([count for _, count in items], dtype=np.float64)
                predictions = np.full(counts.shape, float(np.mean(labels)))
                found[n] = self._keep(path, {
                    "encoder_path": None, "probe": f"mean label of {noisy_set}",
                    "noisy_set": noisy_set, "noisy_sha256": noisy, "dataset": dataset,
                    "split": split, "N": n, **json_ready(count_metrics(predictions, counts)),
                    "breakdown": breakdowns(predictions, counts, metas),
                    "image_paths": [image for image, _ in items], "counts": counts.tolist(),
                    "predictions": predictions.tolist(), "created": timestamp(),
                })
        return found

    def hidden_counts(self, kept, dataset, n, mean_of=None):
        """The counts of NWPU-Crowd's hidden test split by a :class:`KeptProbe` at ``n`` (with
        ``kept`` None, the mean label of ``mean_of``), for the submission file; kept in
        ``cells/``."""
        annotations = self.digest(annotations_path(self.data_dir, dataset))
        key = kept.key if kept else f"mean label of {mean_of}"
        path = self._cell_path({"probe": key, "dataset": dataset, "split": "test",
                                "annotations_sha256": annotations, "N": n, "hidden": True})
        cell = self._kept(path)
        if cell is not None:
            return cell
        items = load_count_set(self.data_dir, dataset, split="test", allow_missing_counts=True)
        paths = [image for image, _ in items]
        if kept is None:
            labels = [label for _, label in load_count_set(self.data_dir, mean_of)]
            predictions = [float(np.mean(labels))] * len(paths)
        else:
            result = evaluate(self.encoder(kept.checkpoint), kept.probe,
                              [(image, 0.0) for image in paths],
                              CountSettings.from_params(kept.params), [n], progress=False)[n]
            predictions = result.predictions.tolist()
        return self._keep(path, {"encoder_path": kept and kept.checkpoint, "probe": key,
                                 "dataset": dataset, "split": "test", "N": n,
                                 "image_paths": paths, "predictions": predictions,
                                 "created": timestamp()})

    def rank_accuracy(self, kept, rank_pairs):
        """The rank-accuracy cell of a :class:`KeptProbe` on ``rank_pairs`` (``(ranking set,
        split)``): reused from ``cells/`` or scored and written there."""
        return self._rank_cell(kept.key, rank_pairs, kept.params, lambda pairs: pair_rank_accuracy(
            self.encoder(kept.checkpoint), kept.probe, pairs,
            CountSettings.from_params(kept.params)), kept.checkpoint)

    def mean_rank_accuracy(self, noisy_set, rank_pairs):
        """The rank-accuracy cell of the mean predictor: a constant ties every pair."""
        return self._rank_cell(f"mean label of {noisy_set}", rank_pairs, None,
                               lambda pairs: rank_accuracy(np.zeros(len(pairs)),
                                                           np.zeros(len(pairs))), None)

    def _rank_cell(self, probe_key, rank_pairs, params, score, checkpoint):
        dataset, split = rank_pairs
        annotations = self.digest(annotations_path(self.data_dir, dataset))
        path = self._cell_path({
            "probe": probe_key, "ranking_set": dataset, "annotations_sha256": annotations,
            "split": split,
            "eval": params and [params["input_shape"], params["preprocessing"]]})
        kept = self._kept(path)
        if kept is not None:
            return kept
        pairs = load_ranking_set(self.data_dir, dataset, splits=(split,))[split]
        return self._keep(path, {
            "encoder_path": checkpoint, "probe": probe_key, "ranking_set": dataset,
            "split": split, "pairs": len(pairs), "rank_accuracy": score(pairs),
            "created": timestamp(),
        })
