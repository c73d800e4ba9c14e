"""The manifest: one JSON line per generated image, one file per shard.

``DATA/NAME/manifest.shard-I-of-N.jsonl`` receives a record right after an image has been
written (preset, dtype, prompt, negative prompt, strength, steps, guidance, seed, source...).
Appending a line is the last step of an item, so a kill loses at most the items in flight;
each shard appends to its own file, so shards on a shared file system never interleave.
A line cut short by a kill is ignored when reading; before a shard generates, its manifest is
rewritten (:func:`repair_manifest`) with one whole record per item whose image exists, so a
finished job has exactly one record per image whatever instants it was killed at. Reading gathers every manifest of the folder: a resumed job counts work done under
any sharding, and a merge sees all shards. The last record of an item wins.
"""

import glob
import json
import os

from syrac.common.files import write_atomic

PATTERN = "manifest.shard-*-of-*.jsonl"


def manifest_path(folder, shard_index, shard_count):
    return os.path.join(folder, f"manifest.shard-{shard_index}-of-{shard_count}.jsonl")


def append_record(path, record):
    """Append ``record`` as one line and flush it to disk."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    line = json.dumps(record, sort_keys=True) + "\n"
    with open(path, "a+b") as handle:
        handle.seek(0, os.SEEK_END)
        if handle.tell() > 0:
            handle.seek(-1, os.SEEK_END)
            if handle.read(1) != b"\n":
                handle.write(b"\n")  # seal a line cut short by a kill
        handle.write(line.encode("utf-8"))
        handle.flush()
        os.fsync(handle.fileno())


def read_records(folder):
    """Return ``{item_id: record}`` from every manifest in ``folder`` (last record wins)."""
    records = {}
    for path in sorted(glob.glob(os.path.join(folder, PATTERN))):
        with open(path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue  # a line cut short by a kill
                if isinstance(record, dict) and "item" in record and "image" in record:
                    records[record["item"]] = record
    return records


def finished(records, data_dir):
    """Item ids whose record exists and whose image file is still there."""
    return {
        item for item, record in records.items()
        if os.path.isfile(os.path.join(data_dir, record["image"]))
    }


def repair_manifest(path, data_dir):
    """Rewrite one shard's manifest: whole lines only, the last record of each item, and only
    items whose image file exists (the others are made again and recorded again)."""
    if not os.path.isfile(path):
        return
    records = {}
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and "item" in record and "image" in record:
                records[record["item"]] = record
    kept = [record for record in records.values()
            if os.path.isfile(os.path.join(data_dir, record["image"]))]
    text = "".join(json.dumps(record, sort_keys=True) + "\n" for record in kept)
    with open(path, "rb") as handle:
        if handle.read() == text.encode("utf-8"):
            return
    write_atomic(path, text.encode("utf-8"), durable=True)
