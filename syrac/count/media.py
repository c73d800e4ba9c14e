"""Which files ``syrac count`` counts: images and videos named by files, folders and globs.

A file is an image or a video by its content (:func:`syrac.common.image_files.sniff_format`,
:func:`syrac.count.video.sniff_video`), whatever its name. In a searched folder, a file whose
name says image or video but whose bytes are neither is a failure, named with the reason (an
empty file, text under a ``.jpg`` name); any other file that is neither is passed over. A file
named directly, or matched by a glob, is always tried, and its failure named.
"""

import dataclasses
import glob
import os

from syrac.common.image_files import sniff_format
from syrac.count.video import VIDEO_NAMES, sniff_video

IMAGE_NAMES = (".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp")


@dataclasses.dataclass(frozen=True)
class Medium:
    """One file to count: ``kind`` is ``"image"`` or ``"video"``."""

    path: str
    kind: str


def kind_of(path):
    """``"image"``, ``"video"`` or ``None``, from the file's first bytes."""
    if sniff_format(path):
        return "image"
    if sniff_video(path):
        return "video"
    return None


def _guessed_kind(path):
    """A file named directly that is neither: tried as what its name says."""
    return kind_of(path) or ("video" if path.lower().endswith(VIDEO_NAMES) else "image")


def _named_kind(name):
    lowered = name.lower()
    if lowered.endswith(IMAGE_NAMES):
        return "an image"
    if lowered.endswith(VIDEO_NAMES):
        return "a video"
    return None


def _search_folder(folder):
    found, failures = [], []
    for root, directories, names in sorted(os.walk(folder)):
        directories[:] = sorted(d for d in directories if not d.startswith("."))
        for name in sorted(names):
            if name.startswith("."):
                continue
            path = os.path.join(root, name)
            kind = kind_of(path)
            if kind:
                found.append(Medium(path, kind))
            elif _named_kind(name):
                empty = os.path.isfile(path) and os.path.getsize(path) == 0
                failures.append((path, f"named like {_named_kind(name)}, but "
                                       + ("it is empty (0 bytes)" if empty else
                                          "its bytes are neither an image this tool reads "
                                          "(JPEG, PNG, GIF, BMP, TIFF) nor a video (MP4, MOV, "
                                          "MKV, WebM, AVI)")))
    if not found and not failures:
        failures.append((folder, "no image or video found in this folder"))
    return found, failures


def find_media(patterns):
    """``(media, failures)``: every image and video the patterns name (each once, in order),
    and ``(pattern or file, reason)`` for what is missing or only pretends to be one."""
    found, failures = [], []
    for pattern in patterns:
        if os.path.isdir(pattern):
            media, missed = _search_folder(pattern)
            found += media
            failures += missed
        elif os.path.lexists(pattern):
            found.append(Medium(pattern, _guessed_kind(pattern)))
        elif glob.has_magic(pattern):
            matches = sorted(glob.glob(pattern, recursive=True))
            if not matches:
                failures.append((pattern, "no file matches this pattern"))
            found += [Medium(m, _guessed_kind(m)) for m in matches if not os.path.isdir(m)]
        else:
            failures.append((pattern, "no such file or folder"))
    return list(dict.fromkeys(found)), failures
