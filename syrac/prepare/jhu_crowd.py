"""JHU-Crowd++ (Sindagi et al., TPAMI 2020).

Raw layout (``--src`` is ``jhu_crowd_v2.0`` or the folder above it)::

    {train,val,test}/images/0001.jpg
    {train,val,test}/gt/0001.txt          one head a line: x y w h o b
    {train,val,test}/image_labels.txt     one image a line: id,count,scene,weather,distractor

Count = the ``count`` of ``image_labels.txt`` (the dataset's own count; distractor images have
0). The head points of ``gt/`` are kept, and a count that differs from the number of points is
reported. Official splits: train 2272, val 500, test 1600 images.
"""

import os

import numpy as np

from syrac.common.errors import SyracError
from syrac.common.numbers import as_integer, as_number, finite_number
from syrac.prepare.folders import (
    IMAGE_SUFFIXES,
    find_root,
    list_files,
    listed,
    wrong_layout,
)
from syrac.prepare.items import RawDataset, RawItem
from syrac.prepare.matching import pair_files, stem

DATASETS = {"jhu_crowd": "JHU-Crowd++"}
OFFICIAL_VAL = True
SPLITS = ("train", "val", "test")
LABELS_FILE = "image_labels.txt"


def _is_split(path):
    return os.path.isdir(os.path.join(path, "images")) and os.path.isdir(os.path.join(path, "gt"))


def _is_root(path):
    return all(_is_split(os.path.join(path, split)) for split in SPLITS)


def _read_lines(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read().splitlines()
    except FileNotFoundError:
        raise SyracError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise SyracError(f"{path}: cannot read: {error}") from None


def _label_meta(path, number, fields):
    """The ``scene``, ``weather`` (0-3) and ``distractor`` (0 or 1) of a label line, checked;
    ``{}`` for a line that gives only ``id,count``."""
    if len(fields) == 2:
        return {}
    if len(fields) != 5:
        raise SyracError(f"{path}: line {number}: expected 'id,count,scene,weather,distractor'. "
                         f"Received: {','.join(fields)!r}")
    weather, distractor = as_integer(fields[3]), as_integer(fields[4])
    if weather is None or not 0 <= weather <= 3:
        raise SyracError(f"{path}: line {number}: the weather must be an integer in 0..3 (none, "
                         f"fog/haze, rain, snow). Received: {fields[3]!r}")
    if distractor not in (0, 1):
        raise SyracError(f"{path}: line {number}: the distractor flag must be 0 or 1. "
                         f"Received: {fields[4]!r}")
    if not fields[2]:
        raise SyracError(f"{path}: line {number}: the scene type is empty")
    return {"scene": fields[2], "weather": weather, "distractor": distractor}


def read_labels(path):
    """``({image id: count}, {image id: meta})`` from ``image_labels.txt``; the meta holds the
    scene type, weather and distractor flag the official breakdowns are made from."""
    counts, metas = {}, {}
    for number, line in enumerate(_read_lines(path), start=1):
        if not line.strip():
            continue
        fields = [field.strip() for field in line.split(",")]
        count = finite_number(fields[1]) if len(fields) >= 2 else None
        if count is None and len(fields) >= 2 and as_number(fields[1]) is not None:
            raise SyracError(f"{path}: line {number}: the count must be a finite number. "
                             f"Received: {fields[1]!r}")
        if count is None:
            if number == 1 and len(fields) >= 2:
                continue  # a header line ("id,count,...")
            raise SyracError(
                f"{path}: line {number}: expected 'id,count,scene,weather,distractor'. "
                f"Received: {line.strip()!r}"
            )
        if count < 0:
            raise SyracError(f"{path}: line {number}: negative count {fields[1]}")
        if fields[0] in counts:
            raise SyracError(f"{path}: line {number}: image {fields[0]} is listed twice")
        counts[fields[0]] = count
        metas[fields[0]] = _label_meta(path, number, fields)
    return counts, metas


def read_points(path):
    """The ``x, y`` of every ``x y w h o b`` line of a ``gt/XXXX.txt`` file."""
    points = []
    for number, line in enumerate(_read_lines(path), start=1):
        fields = line.replace(",", " ").split()
        if not fields:
            continue
        point = [finite_number(field) for field in fields[:2]]
        if len(point) < 2 or None in point:
            problem = "a head's x and y must be finite numbers" if len(point) == 2 and all(
                as_number(field) is not None for field in fields[:2]) else "expected 'x y w h o b'"
            raise SyracError(f"{path}: line {number}: {problem}. Received: {line.strip()!r}")
        points.append(tuple(float(value) for value in point))
    return np.asarray(points, dtype=np.float64).reshape(-1, 2)


def read_split(folder):
    """The items of one official split folder."""
    images, truth = os.path.join(folder, "images"), os.path.join(folder, "gt")
    labels_path = os.path.join(folder, LABELS_FILE)
    counts, metas = read_labels(labels_path)
    names = list_files(images, IMAGE_SUFFIXES)
    pairs = pair_files(images, names, truth, list_files(truth, (".txt",)),
                       lambda name: f"{stem(name)}.txt")
    unlabelled = [name for name in names if stem(name) not in counts]
    if unlabelled:
        raise SyracError(
            f"{labels_path}: no line for {len(unlabelled)} image(s) of {images}: "
            + listed(unlabelled)
        )
    strays = sorted(set(counts) - {stem(name) for name in names})
    if strays:
        raise SyracError(
            f"{labels_path}: {len(strays)} listed image(s) are not in {images}: " + listed(strays)
        )
    items = []
    for name, truth_name in pairs:
        truth_path = os.path.join(truth, truth_name)
        items.append(RawItem(name, os.path.join(images, name), read_points(truth_path),
                             counts[stem(name)], truth_path, meta=metas[stem(name)]))
    return items


def read(dataset, src, args):
    """Read the official train, val and test splits of JHU-Crowd++ from ``src``."""
    root = find_root(src, _is_root)
    if root is None:
        raise wrong_layout(src, DATASETS[dataset], "train/, val/ and test/, each with images/, gt/ "
                           f"and {LABELS_FILE}")
    folders = {split: os.path.join(root, split) for split in SPLITS}
    return RawDataset(
        splits={split: read_split(folder) for split, folder in folders.items()},
        sources=folders,
        count_from="stated",
    )
