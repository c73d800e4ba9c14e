"""A synthesis job's folder: ``job.json``, the train/val split and ``annotations.json``.

``DATA/NAME/job.json`` is written when a job first starts. It records the command, the settings
that decide what the images are (sources, prompts, strengths, steps, guidance, seed, size...),
the full ordered list of item ids and, for a ranking set, the seeded train/val split. A later run
into the same folder (a resume, or another shard) must give the same settings, or it is refused
naming the first setting that differs: images of two different jobs never mix. Settings that
do not change *which* images are asked for (preset location, dtype, batch size, shard, XLA) are
not compared; the manifest records them per image.

``annotations.json`` (docs/DESIGN.md §3) is rebuilt from the manifests whenever a run ends with every
item of the job done, so the last shard to finish writes it, and by ``synth merge`` after the
shards' folders have been copied together. The written file is then read back through the
project's own loaders (:func:`syrac.common.annotations.load_ranking_set` / ``load_count_set``).

Ranking pairs are split by *source image*: all copies of a real image fall in the same split, so
validation never sees a scene that training saw.
"""

import json
import math
import os

from syrac.common.annotations import (
    annotations_path,
    load_count_set,
    load_ranking_set,
)
from syrac.common.errors import SyracError
from syrac.common.files import json_bytes, read_json, write_atomic, write_json_atomic
from syrac.common.validation_split import draw_validation
from syrac.synth.manifest import finished, read_records

JOB_FILE = "job.json"
RANKING_COMMAND = "remove-people"
COUNT_COMMAND = "noisy-counts"


def _normalised(value):
    """The value as it reads back from JSON (tuples become lists...)."""
    return json.loads(json.dumps(value))


def _short(value, limit=120):
    text = json.dumps(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def choose_validation(keys, fraction, seed):
    """The source keys whose pairs form the val split (:mod:`syrac.common.validation_split`)."""
    keys = sorted(keys)
    if len(keys) < 2:
        raise SyracError(
            f"a ranking set needs train and val pairs, so at least 2 source images; found "
            f"{len(keys)}"
        )
    picked = draw_validation(len(keys), fraction, seed, at_least_one=True, option="--val-fraction")
    return [keys[index] for index in picked]


def job_document(command, settings, item_ids, extra=None):
    """The job record, as it reads back from JSON."""
    return _normalised(
        {"command": command, "settings": settings, "items": list(item_ids), **(extra or {})}
    )


def check_existing(folder, document):
    """If ``folder`` already holds a job, check it is this one. Returns whether it exists."""
    path = os.path.join(folder, JOB_FILE)
    if not os.path.exists(path):
        if os.path.exists(os.path.join(folder, "annotations.json")):
            raise SyracError(
                f"{folder}: holds a dataset that this command did not make (annotations.json "
                f"but no {JOB_FILE}); choose another --out"
            )
        return False
    check_same_job(path, read_json(path), document)
    return True


def start_job(folder, document):
    """Create ``folder/job.json``, or check that the job recorded there is this one."""
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, JOB_FILE)
    if not os.path.exists(path):
        _create_once(path, document)
    check_same_job(path, read_json(path), document)


def _create_once(path, document):
    """Create ``path`` unless it exists; of shards starting together, exactly one creates it."""
    try:
        write_atomic(path, json_bytes(document, indent=1), exclusive=True)
    except FileExistsError:
        pass


def check_same_job(path, recorded, document):
    """Refuse to add to a folder whose job asked for other images."""
    if not isinstance(recorded, dict) or "settings" not in recorded:
        raise SyracError(f"{path}: not a synthesis job record; choose another --out")
    check_job_record(path, recorded)
    if recorded.get("command") != document["command"]:
        raise SyracError(
            f"{path}: this folder holds a '{recorded.get('command')}' job, not "
            f"'{document['command']}'; choose another --out"
        )
    old, new = recorded["settings"], document["settings"]
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            raise SyracError(
                f"{path}: this dataset was started with {key}={_short(old.get(key))} and this "
                f"command gives {key}={_short(new.get(key))}; run it with the settings it was "
                "started with to resume, or write to another --out"
            )


def check_job_record(path, job):
    """Refuse a job record of the wrong shape, naming the file and the key (a record cut short
    or edited by hand is reported here, not as a ``KeyError`` later)."""
    if not isinstance(job, dict):
        raise SyracError(f"{path}: a job record is a JSON object. Received: "
                         f"{type(job).__name__}")
    expected = {"command": str, "settings": dict, "items": list}
    if job.get("command") == RANKING_COMMAND:
        expected["split"] = dict
    for key, kind in expected.items():
        if key not in job:
            raise SyracError(f"{path}: missing the key '{key}' of a job record")
        if not isinstance(job[key], kind):
            raise SyracError(f"{path}: '{key}' must be a {kind.__name__}. Received: "
                             f"{type(job[key]).__name__}")
    if job["command"] not in (RANKING_COMMAND, COUNT_COMMAND):
        raise SyracError(f"{path}: 'command' must be {RANKING_COMMAND!r} or {COUNT_COMMAND!r}. "
                         f"Received: {job['command']!r}")
    if not all(isinstance(item, str) for item in job["items"]):
        raise SyracError(f"{path}: 'items' must be a list of item ids (strings)")
    if "split" in expected and not isinstance(job["split"].get("val"), list):
        raise SyracError(f"{path}: 'split' must hold the list 'val' of the job's val sources")
    return job


def read_job(folder):
    path = os.path.join(folder, JOB_FILE)
    if not os.path.isfile(path):
        raise SyracError(f"{folder}: no {JOB_FILE}; not a synthesis job folder")
    return check_job_record(path, read_json(path))


def ranking_document(job, records):
    """``{"train": [pair...], "val": [pair...]}`` from the records, in the job's item order."""
    validation = set(job["split"]["val"])
    document = {"train": [], "val": []}
    for item_id in job["items"]:
        record = records.get(item_id)
        if record is None:
            continue
        info = {
            "type": f"diffusion_{record['method']}",
            "strength": record["strength"],
            "variant": record["variant"],
            "seed": record["seed"],
            "item": item_id,
        }
        split = "val" if record["source_key"] in validation else "train"
        document[split].append(
            {"source_image": record["source_image"], "target_image": record["image"], "info": info}
        )
    return document


def count_document(job, records):
    """``[{"image": P, "count": n}, ...]`` from the records, in the job's item order."""
    return [
        {"image": records[item_id]["image"], "count": records[item_id]["count"]}
        for item_id in job["items"]
        if item_id in records
    ]


def progress(data_dir, dataset):
    """``(job, records of finished items, number of items)`` of the job in ``DATA/NAME``."""
    folder = os.path.join(data_dir, dataset)
    job = read_job(folder)
    records = read_records(folder)
    done = finished(records, data_dir) & set(job["items"])
    return job, {item: records[item] for item in done}, len(job["items"])


def finish(data_dir, dataset, partial=False):
    """Write ``annotations.json`` when every item is done (or anyway with ``partial``).

    Returns:
        ``{"done", "total", "written", "path", "sizes"}``; ``sizes`` counts entries per split.
    """
    job, records, total = progress(data_dir, dataset)
    path = annotations_path(data_dir, dataset)
    summary = {"done": len(records), "total": total, "written": False, "path": path, "sizes": {}}
    if len(records) < total and not partial:
        return summary
    if not records:
        raise SyracError(f"{os.path.join(data_dir, dataset)}: no image is finished yet")
    if job["command"] == RANKING_COMMAND:
        document = ranking_document(job, records)
        write_json_atomic(path, document)
        loaded = load_ranking_set(data_dir, dataset)
        summary["sizes"] = {split: len(pairs) for split, pairs in loaded.items()}
    else:
        document = count_document(job, records)
        write_json_atomic(path, document)
        summary["sizes"] = {"images": len(load_count_set(data_dir, dataset))}
    summary["written"] = True
    return summary


def missing_share(done, total):
    """A short phrase for an unfinished job."""
    share = 100.0 * done / total if total else 100.0
    return f"{done} of {total} images done ({math.floor(share)}%)"
