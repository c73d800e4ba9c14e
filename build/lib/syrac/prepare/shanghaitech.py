"""ShanghaiTech parts A and B (Zhang et al., CVPR 2016).

Raw layout (``--src`` is the folder holding ``part_A``/``part_B``, the archive's top folder
above it, or the part folder itself)::

    part_A[_final]/train_data/images/IMG_1.jpg
    part_A[_final]/train_data/ground[-_]truth/GT_IMG_1.mat
    part_A[_final]/test_data/...        (the same, official test split)

``GT_IMG_i.mat`` holds ``image_info``, a 1x1 cell with a 1x1 struct whose fields are
``location`` (N x 2, x, y) and ``number``. Count = number of points. The standard split is
300/182 images (A) and 400/316 (B); there is no official validation split.
"""

import os

from syrac.prepare.folders import (
    IMAGE_SUFFIXES,
    find_root,
    first_existing,
    list_files,
    wrong_layout,
)
from syrac.prepare.items import RawDataset, RawItem
from syrac.prepare.matching import pair_files, stem
from syrac.prepare.matfiles import shanghaitech_points

DATASETS = {"shanghaitech_a": "ShanghaiTech part A", "shanghaitech_b": "ShanghaiTech part B"}
OFFICIAL_VAL = False
SPLIT_FOLDERS = {"train": "train_data", "test": "test_data"}
TRUTH_FOLDERS = ("ground-truth", "ground_truth")


def _is_part(path):
    return all(os.path.isdir(os.path.join(path, folder)) for folder in SPLIT_FOLDERS.values())


def find_part(src, dataset):
    """The ``part_X`` folder of ``dataset`` inside ``src`` (or ``src`` itself)."""
    letter = dataset[-1].upper()
    candidates = (f"part_{letter}", f"part_{letter}_final")

    def holds_part(path):
        found = first_existing(path, candidates)
        return found is not None and _is_part(found)

    if _is_part(src) and os.path.basename(src).lower().startswith(f"part_{letter.lower()}"):
        return src
    root = find_root(src, holds_part)
    if root is None:
        raise wrong_layout(
            src, DATASETS[dataset],
            f"part_{letter}/train_data and part_{letter}/test_data (or part_{letter}_final/...)",
        )
    return first_existing(root, candidates)


def read_split(part, split):
    """The items of one split folder (``train_data`` or ``test_data``)."""
    folder = os.path.join(part, SPLIT_FOLDERS[split])
    images = os.path.join(folder, "images")
    truth = first_existing(folder, TRUTH_FOLDERS)
    if not os.path.isdir(images) or truth is None:
        raise wrong_layout(folder, "ShanghaiTech split",
                           "images/ and ground-truth/ (or ground_truth/)")
    names = list_files(images, IMAGE_SUFFIXES)
    pairs = pair_files(
        images, names, truth, list_files(truth, (".mat",)), lambda name: f"GT_{stem(name)}.mat"
    )
    items = []
    for name, truth_name in pairs:
        truth_path = os.path.join(truth, truth_name)
        points, number = shanghaitech_points(truth_path)
        items.append(RawItem(name, os.path.join(images, name), points, number, truth_path))
    return items


def read(dataset, src, args):
    """Read ShanghaiTech part A or B from ``src``."""
    part = find_part(src, dataset)
    return RawDataset(
        splits={split: read_split(part, split) for split in SPLIT_FOLDERS},
        sources={split: os.path.join(part, folder) for split, folder in SPLIT_FOLDERS.items()},
    )
