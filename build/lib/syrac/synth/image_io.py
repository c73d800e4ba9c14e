"""Image files of a synthesis job: finding sources and masks, reading them, writing results.

Sources are every image file under ``--images`` (sub-folders included), recognised by content
(:func:`syrac.common.images.sniff_format`), whatever their extension. An image's *key* is its path
below ``--images`` without extension (``scene3/IMG_12``); keys name the generated files and
masks (``--masks DIR`` holds ``scene3/IMG_12.png`` for it, any image format).

Generated images are written through a temporary file and a rename, so a killed job never
leaves a half-written image under a final name. Temporary names carry the process id: shards
running side by side on one file system never share one.
"""

import os
import shutil

import numpy as np
import tensorflow as tf

from syrac.common.errors import SyracError, listed
from syrac.common.files import write_atomic
from syrac.common.images import decode_image, image_file_problem, sniff_format
from syrac.synth.sizing import binarize_mask, resize_mask

FORMATS = ("auto", "jpg", "png")


def find_images(folder, option="--images", exclude=None):
    """Return ``{key: path}`` for every image file under ``folder``, sorted by key.

    ``exclude`` is a folder to skip (the dataset being written, when it lies under ``folder``:
    its own generated images must never become sources).
    """
    if not os.path.isdir(folder):
        raise SyracError(f"{option} {folder}: no such folder")
    excluded = os.path.realpath(exclude) if exclude else None
    found, clashes = {}, []
    for root, directories, files in os.walk(folder):
        directories[:] = sorted(
            d for d in directories
            if not d.startswith(".") and os.path.realpath(os.path.join(root, d)) != excluded
        )
        for name in sorted(files):
            path = os.path.join(root, name)
            if name.startswith(".") or sniff_format(path) is None:
                continue
            key = os.path.splitext(os.path.relpath(path, folder))[0].replace(os.sep, "/")
            if key in found:
                clashes.append(f"{found[key]} / {path}")
            found[key] = path
    if clashes:
        raise SyracError(
            f"{option} {folder}: images that differ only by extension cannot be told apart: "
            + listed(clashes)
        )
    unusable = [f"{path} ({problem})" for path in found.values()
                if (problem := image_file_problem(path)) is not None]
    if unusable:
        raise SyracError(f"{option} {folder}: {len(unusable)} image(s) cannot be used: "
                         + listed(unusable))
    if not found:
        raise SyracError(
            f"{option} {folder}: no JPEG, PNG, BMP, GIF or TIFF image found (sub-folders included)"
        )
    return dict(sorted(found.items()))


def find_masks(folder, keys):
    """Return ``{key: mask path}`` for ``keys``; every key needs a mask."""
    masks = find_images(folder, option="--masks")
    missing = [key for key in keys if key not in masks]
    if missing:
        raise SyracError(
            f"--masks {folder}: {len(missing)} source image(s) have no mask (same name, any "
            f"image format, white where people are): {listed(missing)}"
        )
    return {key: masks[key] for key in keys}


def read_image(path):
    """Decode an image file of any supported format to float32 (H, W, 3) in [0, 1]."""
    try:
        return decode_image(tf.constant(path)).numpy()
    except (tf.errors.OpError, ValueError) as error:
        reason = getattr(error, "message", str(error)).strip().splitlines()[0]
        raise SyracError(f"{path}: cannot be decoded ({reason})") from None


def output_extension(file_format, source=None):
    """``.jpg`` or ``.png`` for ``--format``; ``auto`` follows the source (JPEG stays JPEG,
    any other format becomes lossless PNG), so compression never tells a copy from its source.
    Without a source, ``auto`` is JPEG."""
    if file_format == "auto":
        if source is None or sniff_format(source) == "jpeg":
            return ".jpg"
        return ".png"
    return f".{file_format}"


def write_image(path, image, quality=95):
    """Encode a uint8 (H, W, 3) image as its extension says (PNG or JPEG), atomically."""
    if path.lower().endswith(".png"):
        encoded = tf.io.encode_png(image).numpy()
    else:
        encoded = tf.io.encode_jpeg(image, quality=quality).numpy()
    write_atomic(path, encoded, durable=True)


def inside(path, folder):
    """True when ``path`` lies inside ``folder`` (symbolic links resolved)."""
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return os.path.commonpath([path, folder]) == folder


def source_location(data_dir, dataset, key, path):
    """Where a source image is referenced from the annotations, relative to ``data_dir``.

    A source already inside ``data_dir`` is referenced where it is; any other is copied to
    ``<dataset>/real/<key><ext>`` (by :func:`place_source`), so the dataset is self-contained.
    """
    if inside(path, data_dir):
        return os.path.relpath(os.path.realpath(path), os.path.realpath(data_dir)).replace(
            os.sep, "/"
        )
    return f"{dataset}/real/{key}{os.path.splitext(path)[1].lower()}"


def place_source(data_dir, relative, path):
    """Make the source ``path`` available at ``data_dir/relative``: hard link, else copy.

    Existing files are left alone (another shard may have placed it already).
    """
    target = os.path.join(data_dir, relative)
    if os.path.exists(target):
        return
    os.makedirs(os.path.dirname(target), exist_ok=True)
    temporary = f"{target}.{os.getpid()}.tmp"
    try:
        os.link(path, temporary)
    except OSError:
        shutil.copyfile(path, temporary)
    os.replace(temporary, target)


def checked_mask(path, size):
    """Read a mask file as a 0/1 (H, W) array at ``size``; refuse a mask with nothing to remove."""
    mask = resize_mask(binarize_mask(read_image(path)), size)
    if not np.any(mask):
        raise SyracError(
            f"{path}: the mask has no white pixel, so there is nobody to remove from its image"
        )
    return mask
