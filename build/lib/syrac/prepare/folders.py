"""Finding a benchmark's folders in a raw download, and naming what is there when they are not.

Downloads come unpacked in slightly different ways: with or without the archive's top folder
(``ShanghaiTech/part_A`` or ``part_A``), ``part_A`` or ``part_A_final``, ``ground-truth`` or
``ground_truth``. A converter lists the accepted variants; the first one present wins.
"""

import os
import re

from syrac.common.errors import SyracError, listed

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")


def require_source(src):
    """Fail unless ``--src`` is an existing folder; return its absolute path."""
    if not src or not os.path.isdir(src):
        raise SyracError(f"--src {src}: no such directory")
    return os.path.abspath(src)


def natural_key(name):
    """Sort key putting ``IMG_2`` before ``IMG_10``."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def list_files(folder, suffixes):
    """Names of the visible files in ``folder`` ending in one of ``suffixes`` (any case),
    in natural order."""
    names = [
        name
        for name in os.listdir(folder)
        if not name.startswith(".")
        and name.lower().endswith(suffixes)
        and os.path.isfile(os.path.join(folder, name))
    ]
    return sorted(names, key=natural_key)


def first_existing(root, candidates, kind="dir"):
    """Return ``root/candidate`` for the first candidate that exists (as a folder or a file),
    else ``None``. A candidate is a relative path; ``"."`` stands for ``root`` itself."""
    check = os.path.isdir if kind == "dir" else os.path.isfile
    for candidate in candidates:
        path = os.path.normpath(os.path.join(root, candidate))
        if check(path):
            return path
    return None


def find_root(src, is_root):
    """Return ``src`` or one of its sub-folders (the archive's top folder) for which
    ``is_root(path)`` is true, else ``None``."""
    if is_root(src):
        return src
    for name in sorted(os.listdir(src), key=natural_key):
        path = os.path.join(src, name)
        if not name.startswith(".") and os.path.isdir(path) and is_root(path):
            return path
    return None


def contents(folder):
    """A short listing of ``folder`` for error messages."""
    try:
        names = sorted(name for name in os.listdir(folder) if not name.startswith("."))
    except OSError:
        return "nothing readable"
    if not names:
        return "an empty folder"
    return listed(names)


def wrong_layout(src, dataset, expected):
    """The error for a ``--src`` that is not the expected download."""
    return SyracError(
        f"--src {src}: not a {dataset} download: expected {expected}; found {contents(src)}"
    )

