"""UCF-QNRF (Idrees et al., ECCV 2018).

Raw layout (``--src`` is ``UCF-QNRF_ECCV18`` or the folder above it)::

    Train/img_0001.jpg   Train/img_0001_ann.mat   (annPoints: N x 2, x, y)
    Test/img_0001.jpg    Test/img_0001_ann.mat

Count = number of points. 1201 train and 334 test images; no official validation split.
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
from syrac.prepare.matfiles import ann_points

DATASETS = {"ucf_qnrf": "UCF-QNRF"}
OFFICIAL_VAL = False
SPLIT_FOLDERS = {"train": ("Train", "train"), "test": ("Test", "test")}


def _is_root(path):
    """Train/ and Test/ both holding ``*_ann.mat`` files (JHU-Crowd++ has train/ and test/ too)."""
    folders = [first_existing(path, names) for names in SPLIT_FOLDERS.values()]
    return all(folder and list_files(folder, ("_ann.mat",)) for folder in folders)


def read_folder(folder):
    """Items of a folder holding ``img_XXXX.jpg`` beside ``img_XXXX_ann.mat``."""
    truth_names = list_files(folder, ("_ann.mat",))
    names = list_files(folder, IMAGE_SUFFIXES)
    pairs = pair_files(folder, names, folder, truth_names, lambda name: f"{stem(name)}_ann.mat")
    items = []
    for name, truth_name in pairs:
        truth_path = os.path.join(folder, truth_name)
        items.append(RawItem(name, os.path.join(folder, name), ann_points(truth_path),
                             None, truth_path))
    return items


def read(dataset, src, args):
    """Read UCF-QNRF from ``src``."""
    root = find_root(src, _is_root)
    if root is None:
        raise wrong_layout(src, DATASETS[dataset],
                           "Train/ and Test/ with img_XXXX.jpg and img_XXXX_ann.mat")
    folders = {split: first_existing(root, names) for split, names in SPLIT_FOLDERS.items()}
    return RawDataset(
        splits={split: read_folder(folder) for split, folder in folders.items()},
        sources=folders,
    )
