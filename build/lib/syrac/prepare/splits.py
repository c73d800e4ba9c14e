"""The split rules shared by the converters.

- Validation, when the dataset has no official one, is carved from *train*, never from test: a
  seeded draw (:mod:`syrac.common.validation_split`'s rule), or the names listed in a file
  (``--val_list``, e.g. the ``meta.val.images`` of an earlier preparation). The chosen names,
  the seed and the fraction are recorded in ``annotations.json`` under ``meta.val``.
- Numbered cross-validation folds (UCF_CC_50): fold ``k`` of ``F`` takes the ``k``-th block of
  consecutive image numbers as test.
- Frame ranges (Mall): a frame number decides the split.
"""

import os

from syrac.common.errors import SyracError, listed
from syrac.common.validation_split import draw_validation


def read_name_list(path):
    """Names listed in a text file, one a line (blank lines and ``#`` comments ignored)."""
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except OSError as error:
        raise SyracError(f"--val_list {path}: cannot read: {error.strerror}") from None
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def carve_validation(train, fraction, seed, listed_names=None, list_file=None):
    """Split train items into ``(train, val, record)``.

    Args:
        train: the official train items (:class:`~syrac.prepare.items.RawItem`), in a fixed order.
        fraction: share of train moved to val, in [0, 1).
        seed: seed of the draw (numpy's default generator).
        listed_names: image names to use as val instead of a draw.
        list_file: the file ``listed_names`` came from (named in messages and the record).

    Returns:
        The remaining train items, the val items (both in their original order) and the record
        written to ``meta.val``.
    """
    names = [item.name for item in train]
    if listed_names is not None:
        unknown = [name for name in listed_names if name not in set(names)]
        if unknown:
            raise SyracError(
                f"--val_list {list_file}: {len(unknown)} name(s) are not train images: "
                + listed(unknown)
            )
        chosen = set(listed_names)
        record = {"carved_from": "train", "list_file": os.path.abspath(list_file)}
    else:
        chosen = {names[index] for index in draw_validation(len(train), fraction, seed)}
        record = {"carved_from": "train", "seed": seed, "fraction": fraction}
    val = [item for item in train if item.name in chosen]
    rest = [item for item in train if item.name not in chosen]
    record["images"] = [item.name for item in val]
    return rest, val, record


def fold_numbers(fold, folds, block):
    """Image numbers of test fold ``fold`` (1-based): ``block*(fold-1)+1 .. block*fold``."""
    if not 1 <= fold <= folds:
        raise SyracError(f"--fold must be between 1 and {folds}. Received: fold={fold}")
    return set(range(block * (fold - 1) + 1, block * fold + 1))


def split_by_number(numbered_items, test_numbers):
    """``(train, test)`` from ``[(number, item), ...]``; numbers in ``test_numbers`` are test."""
    train = [item for number, item in numbered_items if number not in test_numbers]
    test = [item for number, item in numbered_items if number in test_numbers]
    return train, test
