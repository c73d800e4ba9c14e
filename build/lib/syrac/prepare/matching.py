"""Pairing each raw image with its ground-truth file, refusing strays on either side.

A download with an image but no ground truth (or the reverse) is incomplete or mixed up; the
count of such an image would be a guess, so conversion stops and names the files.
"""

import os

from syrac.common.errors import SyracError, listed


def pair_files(image_dir, image_names, truth_dir, truth_names, truth_name_for):
    """Return ``[(image_name, truth_name), ...]`` in image order.

    Args:
        image_dir: folder of the images (named in messages).
        image_names: the image file names found there.
        truth_dir: folder of the ground-truth files.
        truth_names: the ground-truth file names found there.
        truth_name_for: maps an image name to the name of its ground-truth file.

    Raises:
        SyracError: naming the images without ground truth, then the ground truth without an
            image (first few of each).
    """
    available = set(truth_names)
    expected = {name: truth_name_for(name) for name in image_names}
    orphans = [name for name in image_names if expected[name] not in available]
    if orphans:
        raise SyracError(
            f"{len(orphans)} image(s) in {image_dir} have no ground truth in {truth_dir}: "
            + listed(f"{name} (expected {expected[name]})" for name in orphans)
        )
    claimed = set(expected.values())
    strays = [name for name in truth_names if name not in claimed]
    if strays:
        raise SyracError(
            f"{len(strays)} ground-truth file(s) in {truth_dir} have no image in {image_dir}: "
            + listed(strays)
        )
    return [(name, expected[name]) for name in image_names]


def stem(name):
    """``IMG_1.jpg`` -> ``IMG_1``."""
    return os.path.splitext(name)[0]
