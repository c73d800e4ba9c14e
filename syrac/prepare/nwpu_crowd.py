"""NWPU-Crowd (Wang et al., TPAMI 2020).

Raw layout (``--src`` is ``NWPU-Crowd`` or the folder above it; the ``images_part*`` archives
unpacked into one ``images/`` folder)::

    images/0001.jpg ... 5109.jpg
    jsons/0001.json ... 3609.json     {"human_num": n, "points": [[x, y], ...], ...}
    train.txt  val.txt  test.txt      one image a line, the id first: "3110 1 2"

Count = number of points (a ``human_num`` that differs is reported). Official splits: train
3109, val 500, test 1500 images. The test labels are not public: test images are listed in
``annotations.json`` as ``{"image": P}`` without a ``count`` key, and evaluating them is
refused (use ``--split val``). A test image that does have a json (labels obtained elsewhere)
gets its count like any other.
"""

import math
import os

import numpy as np

from syrac.common.errors import SyracError
from syrac.common.files import read_json
from syrac.common.numbers import as_integer
from syrac.prepare.folders import (
    IMAGE_SUFFIXES,
    find_root,
    list_files,
    listed,
    wrong_layout,
)
from syrac.prepare.items import RawDataset, RawItem
from syrac.prepare.matching import stem

DATASETS = {"nwpu_crowd": "NWPU-Crowd"}
OFFICIAL_VAL = True
SPLITS = ("train", "val", "test")
UNLABELLED_TEST_NOTE = "NWPU-Crowd test labels are not public: evaluate with --split val"


def _is_root(path):
    return os.path.isdir(os.path.join(path, "images")) and all(
        os.path.isfile(os.path.join(path, f"{split}.txt")) for split in SPLITS
    )


# The official lists give, after each id, the illumination class and the scene level.
LIST_FIELDS = (("illumination", 3), ("level", 4))


def read_list(path):
    """``{image id: {"illumination", "level"}}`` of a ``train.txt``-style list, in its order
    (``3110 1 2``: image 3110, illumination 1, level 2; an id alone gives an empty meta)."""
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise SyracError(f"{path}: cannot read: {error}") from None
    listed_ids = {}
    for number, line in enumerate(lines, start=1):
        fields = line.split()
        if not fields:
            continue
        meta = {}
        if len(fields) > 1:
            if len(fields) != 1 + len(LIST_FIELDS):
                raise SyracError(f"{path}: line {number}: expected 'id illumination level'. "
                                 f"Received: {line.strip()!r}")
            for (key, most), text in zip(LIST_FIELDS, fields[1:]):
                value = as_integer(text)
                if value is None or not 0 <= value <= most:
                    raise SyracError(f"{path}: line {number}: the {key} must be an integer in "
                                     f"0..{most}. Received: {text!r}")
                meta[key] = value
        listed_ids[stem(fields[0])] = meta
    return listed_ids


def read_ids(path):
    """Image ids (the first field of each line) of a ``train.txt``-style list."""
    return list(read_list(path))


def read_json_points(path):
    """``(points, human_num)`` of a ``jsons/XXXX.json`` file."""
    document = read_json(path)
    if not isinstance(document, dict) or "points" not in document:
        raise SyracError(f"{path}: expected an object with 'points' and 'human_num'")
    try:
        points = np.asarray(document["points"], dtype=np.float64)
    except (TypeError, ValueError):
        raise SyracError(f"{path}: 'points' must be a list of [x, y] pairs") from None
    if points.size == 0:
        points = np.zeros((0, 2))
    if points.ndim != 2 or points.shape[1] != 2 or not np.all(np.isfinite(points)):
        raise SyracError(
            f"{path}: 'points' must be a list of [x, y] pairs. Received: shape {points.shape}"
        )
    stated = document.get("human_num")
    if isinstance(stated, bool) or not isinstance(stated, (int, float, type(None))) \
            or (stated is not None and not math.isfinite(stated)):
        raise SyracError(f"{path}: 'human_num' must be a finite number. Received: {stated!r}")
    return points, stated


def read(dataset, src, args):
    """Read the official train, val and test splits of NWPU-Crowd from ``src``."""
    root = find_root(src, _is_root)
    if root is None:
        raise wrong_layout(src, DATASETS[dataset],
                           "images/, jsons/, train.txt, val.txt and test.txt")
    images, truth = os.path.join(root, "images"), os.path.join(root, "jsons")
    image_names = {stem(name): name for name in list_files(images, IMAGE_SUFFIXES)}
    truth_names = list_files(truth, (".json",)) if os.path.isdir(truth) else []
    truth_ids = {stem(name) for name in truth_names}
    lists = {split: os.path.join(root, f"{split}.txt") for split in SPLITS}
    metas = {split: read_list(path) for split, path in lists.items()}
    ids = {split: list(metas[split]) for split in SPLITS}

    seen = {}
    for split in SPLITS:
        for image_id in ids[split]:
            if image_id in seen:
                raise SyracError(
                    f"{lists[split]}: image {image_id} is also listed in {lists[seen[image_id]]}"
                )
            seen[image_id] = split
    for split in SPLITS:
        missing = [image_id for image_id in ids[split] if image_id not in image_names]
        if missing:
            raise SyracError(
                f"{lists[split]}: {len(missing)} listed image(s) are not in {images}: "
                + listed(missing)
            )
    unlisted = [name for image_id, name in image_names.items() if image_id not in seen]
    if unlisted:
        raise SyracError(
            f"{len(unlisted)} image(s) in {images} are in none of train.txt, val.txt, "
            f"test.txt: " + listed(unlisted)
        )
    strays = sorted(truth_ids - set(image_names))
    if strays:
        raise SyracError(
            f"{len(strays)} ground-truth file(s) in {truth} have no image in {images}: "
            + listed(f"{image_id}.json" for image_id in strays)
        )
    for split in ("train", "val"):
        orphans = [image_id for image_id in ids[split] if image_id not in truth_ids]
        if orphans:
            raise SyracError(
                f"{len(orphans)} {split} image(s) in {images} have no ground truth in {truth}: "
                + listed(f"{image_names[i]} (expected {i}.json)" for i in orphans)
            )

    splits = {}
    for split in SPLITS:
        items = []
        for image_id in ids[split]:
            name = image_names[image_id]
            item = RawItem(name, os.path.join(images, name), None,
                           meta=metas[split][image_id])
            if image_id in truth_ids:
                item.ground_truth = os.path.join(truth, f"{image_id}.json")
                item.points, item.stated_count = read_json_points(item.ground_truth)
            items.append(item)
        splits[split] = items
    unlabelled = sum(item.points is None for item in splits["test"])
    return RawDataset(
        splits=splits,
        sources={split: f"{path} ({len(ids[split])} images)" for split, path in lists.items()},
        split_notes={"test": UNLABELLED_TEST_NOTE} if unlabelled else {},
        notes=[f"{unlabelled} test image(s) have no public labels: listed without a count"]
        if unlabelled else [],
    )
