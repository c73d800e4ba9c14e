"""Reading and validating ``DATA/<dataset>/annotations.json`` before any work starts.

Three shapes exist (docs/DESIGN.md §3):

- ranking set: ``{"train": [pair, ...], "val": [pair, ...]}`` with
  ``pair = {"source_image": P, "target_image": P, "info": {"type": T}}``;
- noisy synthetic count set: ``[{"image": P, "count": n}, ...]`` or ``{"train": [...]}``;
- real benchmark: ``{"test": [{"image": P, "count": n}, ...]}`` (optionally train/val). An item
  of a split whose labels are not public (NWPU-Crowd's test split) is ``{"image": P}`` without a
  ``count`` key; it is accepted only where asked (``allow_missing_counts``), never scored.

Other top-level keys (``"meta"``, written by ``python -m syrac prepare``) and other item keys
(``"points"``) are ignored. Image paths are relative to the data directory (a leading ``/`` is
allowed); an absolute path that exists as given is used as it is. Every problem is reported as
one :class:`SyracError` naming the file and the offending entry.

``syrac.common.images`` (and so TensorFlow) is imported only when image files are checked, so the
commands that merely read JSON (``python -m syrac prepare``) start quickly.
"""

import math
import os

from syrac.common.errors import SyracError, listed
from syrac.common.files import read_json
from syrac.common.numbers import parse_number


def annotations_path(data_dir, dataset):
    """Return ``DATA/<dataset>/annotations.json``."""
    return os.path.join(data_dir, dataset, "annotations.json")


def resolve_image_path(data_dir, relative):
    """Join an annotation path to the data directory, as the authors' concatenation did.

    A leading ``/`` is the authors' convention for a path relative to the data directory, so it
    is stripped; but an absolute path that exists as given (a raw download referenced in place
    by ``python -m syrac prepare``, outside the data directory) is returned unchanged.
    """
    if os.path.isabs(relative) and os.path.exists(relative):
        return relative
    return os.path.join(data_dir, relative.lstrip("/\\"))


def _check_images_exist(path, data_dir, relative_paths):
    """Fail naming the first few image files that are missing or cannot be used as images.

    Only names, first bytes and headers are read (:func:`syrac.common.image_files.image_file_problem`):
    folders, broken links, empty files, unknown formats and decompression bombs are refused
    here, before any work starts.
    """
    from syrac.common.image_files import image_file_problem

    missing, unknown, unusable = [], [], []
    for relative in dict.fromkeys(relative_paths):
        full = resolve_image_path(data_dir, relative)
        problem = image_file_problem(full)
        if problem == "not found":
            missing.append(full)
        elif problem == "not a JPEG, PNG, BMP, GIF or TIFF image":
            unknown.append(full)
        elif problem is not None:
            unusable.append(f"{full} ({problem})")
    if missing:
        raise SyracError(f"{path}: {len(missing)} image file(s) not found: {listed(missing)}")
    if unusable:
        raise SyracError(
            f"{path}: {len(unusable)} image file(s) cannot be used: {listed(unusable)}"
        )
    if unknown:
        raise SyracError(
            f"{path}: {len(unknown)} file(s) are not JPEG, PNG, BMP, GIF or TIFF "
            f"images: {listed(unknown)}"
        )


def _check_path_field(path, where, entry, key):
    value = entry.get(key)
    if not isinstance(value, str) or value.strip("/\\ ") == "":
        raise SyracError(
            f"{path}: {where} needs '{key}' as a non-empty path string. "
            f"Received: {key}={value!r}"
        )
    return value


def _split_entries(path, document, split, kind):
    """The list of a split of ``document``; refuse a missing split or one that is not a list."""
    if split not in document:
        raise SyracError(f"{path}: missing the '{split}' split (found keys: {sorted(document)})")
    entries = document[split]
    if not isinstance(entries, list):
        raise SyracError(f"{path}: '{split}' must be a list of {kind}. Received: {type(entries).__name__}")
    return entries


def _objects(path, split, entries):
    """``(where, entry)`` for each entry of a split, refusing one that is not an object."""
    for index, entry in enumerate(entries):
        where = f"{split}[{index}]"
        if not isinstance(entry, dict):
            raise SyracError(f"{path}: {where} must be an object. Received: {type(entry).__name__}")
        yield where, entry


def load_ranking_set(data_dir, dataset, filter_classes=(), splits=("train", "val")):
    """Load and validate a ranking set.

    Args:
        data_dir: the folder holding ``<dataset>/annotations.json`` and the images.
        dataset: the dataset's folder name.
        filter_classes: pair types (``info.type``) to drop, as ``--filter_classes``.
        splits: the splits that must be present and non-empty.

    Returns:
        ``{split: [(source_path, target_path), ...]}`` with full image paths.
    """
    path = annotations_path(data_dir, dataset)
    document = read_json(path)
    if not isinstance(document, dict):
        raise SyracError(
            f"{path}: a ranking set must be an object with "
            f"{' and '.join(repr(s) for s in splits)} lists. Received: {type(document).__name__}"
        )
    filtered = set(filter_classes or ())
    result = {}
    for split in splits:
        entries = _split_entries(path, document, split, "pairs")
        pairs = []
        for where, entry in _objects(path, split, entries):
            source = _check_path_field(path, where, entry, "source_image")
            target = _check_path_field(path, where, entry, "target_image")
            if source.lstrip("/\\") == target.lstrip("/\\"):
                raise SyracError(
                    f"{path}: {where} has the same source_image and target_image "
                    f"({source}); a pair needs two different images"
                )
            info = entry.get("info", {})
            if not isinstance(info, dict):
                raise SyracError(
                    f"{path}: {where}.info must be an object. Received: {type(info).__name__}"
                )
            if info.get("type") in filtered:
                continue
            pairs.append((source, target))
        if not pairs:
            reason = (
                f" after --filter_classes {sorted(filtered)}" if filtered and entries else ""
            )
            raise SyracError(f"{path}: the '{split}' split is empty{reason}")
        _check_images_exist(path, data_dir, [p for pair in pairs for p in pair])
        result[split] = [
            (resolve_image_path(data_dir, s), resolve_image_path(data_dir, t))
            for s, t in pairs
        ]
    return result


def _check_count(path, where, value):
    if isinstance(value, str) and parse_number(value) is not None:
        raise SyracError(
            f"{path}: {where}.count must be a number, not a string. Received: count={value!r} "
            f"(write {value.strip()} without quotes)"
        )
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
    ):
        raise SyracError(
            f"{path}: {where}.count must be a number. Received: count={value!r}"
        )
    if value < 0:
        raise SyracError(
            f"{path}: {where}.count must not be negative. Received: count={value!r}"
        )
    return float(value)


def load_count_set(data_dir, dataset, split=None, allow_missing_counts=False):
    """Load and validate a counted image set (noisy synthetic or real benchmark).

    Args:
        data_dir: the folder holding ``<dataset>/annotations.json`` and the images.
        dataset: the dataset's folder name.
        split: ``None`` for a noisy synthetic set (a plain list, or ``"train"``), or the split
            of a benchmark to read (``"test"``).
        allow_missing_counts: accept items without a ``count`` key, returned with the count
            ``None``: a split whose labels are not public. By default such an item is refused,
            naming it. ``"count": null`` is refused either way (a count-less item has no key).

    Returns:
        ``[(image_path, count), ...]`` with full image paths and float counts (``None`` for a
        count-less item when ``allow_missing_counts``).
    """
    path = annotations_path(data_dir, dataset)
    document = read_json(path)
    if isinstance(document, list):
        if split not in (None, "train"):
            raise SyracError(
                f"{path}: is a plain list of images, it has no '{split}' split"
            )
        entries, name = document, "entries"
    elif isinstance(document, dict):
        name = split or "train"
        entries = _split_entries(path, document, name, "images")
    else:
        raise SyracError(
            f"{path}: a count set must be a list or an object of splits. "
            f"Received: {type(document).__name__}"
        )
    if not entries:
        raise SyracError(f"{path}: the '{name}' split is empty")
    items = []
    for where, entry in _objects(path, name, entries):
        image = _check_path_field(path, where, entry, "image")
        if "count" not in entry:
            if not allow_missing_counts:
                raise SyracError(f"{path}: {where} has no 'count'")
            items.append((image, None))
            continue
        items.append((image, _check_count(path, where, entry["count"])))
    _check_images_exist(path, data_dir, [image for image, _ in items])
    return [(resolve_image_path(data_dir, image), count) for image, count in items]


def split_note(data_dir, dataset, split):
    """Return the note ``python -m syrac prepare`` recorded about a split, or ``None``.

    The note (``meta.splits.<split>.note`` in ``annotations.json``) says why a split cannot be
    used as asked, e.g. that NWPU-Crowd's test labels are not public.
    """
    document = read_json(annotations_path(data_dir, dataset))
    meta = document.get("meta") if isinstance(document, dict) else None
    splits = meta.get("splits") if isinstance(meta, dict) else None
    about = splits.get(split) if isinstance(splits, dict) else None
    note = about.get("note") if isinstance(about, dict) else None
    return note if isinstance(note, str) else None


# The item facts the official breakdowns read, and what each may be.
ITEM_META = {
    "illumination": (lambda v: _whole(v) and 0 <= v <= 3, "an integer in 0..3"),
    "level": (lambda v: _whole(v) and 0 <= v <= 4, "an integer in 0..4"),
    "weather": (lambda v: _whole(v) and 0 <= v <= 3, "an integer in 0..3"),
    "distractor": (lambda v: _whole(v) and v in (0, 1), "0 or 1"),
    "scene": (lambda v: isinstance(v, str) and v != "", "a non-empty string"),
}


def _whole(value):
    return isinstance(value, int) and not isinstance(value, bool)


def load_item_metas(data_dir, dataset, split=None):
    """The ``meta`` of every item of a count set, in :func:`load_count_set`'s order (``{}``
    for an item without one); each known key checked, refused by file, item and key."""
    path = annotations_path(data_dir, dataset)
    document = read_json(path)
    if isinstance(document, list):
        entries, name = document, "entries"
    else:
        name = split or "train"
        entries = _split_entries(path, document, name, "images")
    metas = []
    for where, entry in _objects(path, name, entries):
        meta = entry.get("meta", {})
        if not isinstance(meta, dict):
            raise SyracError(f"{path}: {where}.meta must be an object. Received: "
                             f"{type(meta).__name__}")
        for key, (valid, wanted) in ITEM_META.items():
            if key in meta and not valid(meta[key]):
                raise SyracError(f"{path}: {where}.meta.{key} must be {wanted}. Received: "
                                 f"{meta[key]!r}")
        metas.append(meta)
    return metas
