"""UCF_CC_50 (Idrees et al., CVPR 2013), evaluated by 5-fold cross-validation.

Raw layout (``--src`` is ``UCF_CC_50`` or the folder above it)::

    1.jpg ... 50.jpg    1_ann.mat ... 50_ann.mat   (annPoints: N x 2, x, y)

Count = number of points. Fold convention (``--fold k``, k = 1..5): the test images of fold k
are the ten consecutive numbers ``10(k-1)+1 .. 10k`` (fold 1 = images 1-10, fold 5 = 41-50);
the other 40 are train, and val is carved from those 40. Report the mean over the five folds.
"""

import os

from syrac.common.errors import SyracError
from syrac.common.numbers import integer
from syrac.prepare.folders import IMAGE_SUFFIXES, find_root, list_files, wrong_layout
from syrac.prepare.items import RawDataset
from syrac.prepare.matching import stem
from syrac.prepare.splits import fold_numbers, split_by_number
from syrac.prepare.ucf_qnrf import read_folder

DATASETS = {"ucf_cc_50": "UCF_CC_50"}
OFFICIAL_VAL = False
FOLDS = 5
FOLD_SIZE = 10
IMAGES = FOLDS * FOLD_SIZE


def add_options(parser):
    parser.add_argument(
        "--fold", type=integer, required=True, choices=range(1, FOLDS + 1), metavar="K",
        help="test fold of the 5-fold protocol: fold K tests images 10(K-1)+1 .. 10K "
             "(fold 1 = 1-10, ..., fold 5 = 41-50) and trains on the other 40",
    )


# The dataset folder's default name: one folder per fold, filled from the parsed options.
DEFAULT_OUT = "{dataset}_fold{fold}"


def _is_root(path):
    return any(
        name[: -len("_ann.mat")].isdigit() for name in list_files(path, ("_ann.mat",))
    )


def read(dataset, src, args):
    """Read UCF_CC_50 from ``src`` and split it by ``args.fold``."""
    root = find_root(src, _is_root)
    if root is None:
        raise wrong_layout(src, DATASETS[dataset], "1.jpg ... 50.jpg with 1_ann.mat ... 50_ann.mat")
    odd = [name for name in list_files(root, IMAGE_SUFFIXES) if not stem(name).isdigit()]
    if odd:
        raise SyracError(
            f"{os.path.join(root, odd[0])}: UCF_CC_50 images are named by number (1.jpg ... "
            f"50.jpg); this folder holds other images too"
        )
    items = read_folder(root)
    train, test = split_by_number(
        [(int(stem(item.name)), item) for item in items],
        fold_numbers(args.fold, FOLDS, FOLD_SIZE),
    )
    notes = []
    if len(items) != IMAGES:
        notes.append(f"{root} holds {len(items)} numbered images; UCF_CC_50 has {IMAGES}")
    first = FOLD_SIZE * (args.fold - 1) + 1
    return RawDataset(
        splits={"train": train, "test": test},
        sources={
            "train": f"{root} (all images but {first}-{first + FOLD_SIZE - 1})",
            "test": f"{root} (images {first}-{first + FOLD_SIZE - 1}, fold {args.fold})",
        },
        notes=notes,
        meta={"fold": args.fold, "folds": FOLDS,
              "fold_rule": "fold k tests images 10(k-1)+1 .. 10k"},
    )
