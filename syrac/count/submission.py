"""The NWPU-Crowd submission file: the one way to score on its test set, whose labels are hidden.

NWPU-Crowd's online benchmark takes one text file with a line ``id count`` per test image, in
the order of the download's ``test.txt`` (1,500 lines), and reports MAE, MSE (the root, our
RMSE) and NAE, overall and per scene level and illumination. ``prepare nwpu_crowd`` lists the
test images in that order, so the file is written in the order of the prepared split. Counts are
plain decimals (no exponent), the id is the image's file name without its extension.
"""

import math
import os

from syrac.common.annotations import annotations_path
from syrac.common.errors import SyracError
from syrac.common.files import read_json, write_atomic

NWPU_DATASET = "nwpu_crowd"
SUBMISSION_SPLIT = "test"


def is_nwpu_test(data_dir, dataset, split):
    """Whether ``DATA/dataset``'s ``split`` is NWPU-Crowd's hidden test set (as prepared)."""
    if split != SUBMISSION_SPLIT:
        return False
    document = read_json(annotations_path(data_dir, dataset))
    meta = document.get("meta") if isinstance(document, dict) else None
    return isinstance(meta, dict) and meta.get("dataset") == NWPU_DATASET


def submission_text(image_paths, counts):
    """The file's text: ``id count`` per image, in the given order, and nothing else."""
    lines = []
    for path, count in zip(image_paths, counts, strict=True):
        count = float(count)
        if not math.isfinite(count) or count < 0:
            raise SyracError(f"{path}: a count to submit must be a finite number >= 0. "
                             f"Received: {count!r}")
        lines.append(f"{os.path.splitext(os.path.basename(path))[0]} {count:.4f}")
    return "\n".join(lines) + "\n"


def write_submission(path, image_paths, counts):
    """Write the submission file at ``path`` (whole or not at all); return ``path``."""
    write_atomic(path, submission_text(image_paths, counts).encode("ascii"))
    return path
