"""Probes and evaluations of a table, each kept once and found again by what it is made of.

A probe is identified by the encoder checkpoint's content (SHA-256 of its bytes), the noisy set's
annotations and the settings the features depend on; an evaluation cell by its probe, the
benchmark's annotations, the split and N. Both are written once under the table's folder
(``probes/<key>/``, ``cells/<key>.json``) and reused by every later run: a killed ``table`` run
started again recomputes nothing it had finished, and nothing finished is ever overwritten.
"""

import hashlib
import json
import os
import shutil
import tempfile


from syrac.common.annotations import annotations_path, load_count_set
from syrac.common.files import read_json, timestamp, write_new_json
from syrac.count.core import CountSettings, evaluate, fit_probe
from syrac.count.encoder_loading import load_encoder
from syrac.count.metrics import count_metrics, json_ready
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
        """The probe of ``checkpoint`` fitted on ``noisy_set``: reused, or fitted and kept."""
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
            return key, CountProbe.load(folder)
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
        return key, probe

    def cells(self, checkpoint, probe_key, probe, dataset, split, ns, params):
        """``{n: cell}`` for every N: reused from ``cells/`` or evaluated (each image decoded
        once for all missing N) and written there."""
        annotations = self.digest(annotations_path(self.data_dir, dataset))
        paths, found = {}, {}
        for n in ns:
            key = _key({"probe": probe_key, "dataset": dataset, "annotations_sha256": annotations,
                        "split": split, "N": n, "eval": [params["input_shape"],
                                                         params["preprocessing"]]})
            paths[n] = os.path.join(self.folder, "cells", f"{key}.json")
            if os.path.isfile(paths[n]):
                found[n] = {**read_json(paths[n]), "file": paths[n]}
        missing = [n for n in ns if n not in found]
        self.reused += len(found)
        if missing:
            items = load_count_set(self.data_dir, dataset, split=split)
            results = evaluate(self.encoder(checkpoint), probe, items,
                               CountSettings.from_params(params), missing, progress=False)
            for n, result in results.items():
                document = {
                    "encoder_path": checkpoint, "encoder_sha256": self.digest(checkpoint),
                    "probe": probe_key, "dataset": dataset, "split": split, "N": n,
                    **json_ready(count_metrics(result.predictions, result.counts)),
                    "image_paths": result.image_paths,
                    "counts": result.counts.tolist(), "predictions": result.predictions.tolist(),
                    "created": timestamp(),
                }
                write_new_json(paths[n], document, indent=1, sort_keys=False, allow_nan=False)
                found[n] = {**document, "file": paths[n]}
                self.computed += 1
        return found
