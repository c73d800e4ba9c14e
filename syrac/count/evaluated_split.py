"""The split a Count step evaluates, read and checked before any model is loaded.

A labelled split is scored; NWPU-Crowd's test split, whose labels are hidden, is counted for its
online benchmark instead (:mod:`syrac.count.submission`); any other split with an image without
a count is refused, naming why (the note ``prepare`` recorded for it). The items' ``meta`` is
read and checked with them: the official breakdowns are made from it.
"""

import dataclasses

from syrac.common.annotations import (
    annotations_path,
    load_count_set,
    load_item_metas,
    split_note,
)
from syrac.common.errors import SyracError
from syrac.count.submission import is_nwpu_test


@dataclasses.dataclass(frozen=True)
class EvaluatedSplit:
    """``items`` ``[(path, count)]`` (counts None when ``hidden``), their ``metas``, and
    whether the labels are hidden (NWPU-Crowd's test set)."""

    items: list
    metas: list
    hidden: bool

    @classmethod
    def read(cls, data_dir, dataset, split):
        hidden = is_nwpu_test(data_dir, dataset, split)
        items = load_count_set(data_dir, dataset, split=split, allow_missing_counts=True)
        unlabelled = [path for path, count in items if count is None]
        if unlabelled and not hidden:
            note = split_note(data_dir, dataset, split) or "evaluate a labelled split with --split"
            raise SyracError(
                f"{annotations_path(data_dir, dataset)}: {len(unlabelled)} of {len(items)} "
                f"images of the '{split}' split have no count and cannot be scored (e.g. "
                f"{unlabelled[0]}); {note}"
            )
        return cls(items, load_item_metas(data_dir, dataset, split), hidden)
