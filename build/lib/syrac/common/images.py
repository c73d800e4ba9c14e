"""Decoding image files into 3-channel float32 tensors in [0, 1], resized to the input shape.

JPEG, PNG, BMP and GIF go through TensorFlow's decoders; TIFF goes through tifffile (TensorFlow
has no TIFF decoder). Grayscale and grayscale+alpha become 3 equal channels, RGBA loses its
alpha, 16-bit and other integer images are scaled by their type's maximum. Resizing is bilinear
and does not keep the aspect ratio, as in the authors' pipeline.
"""

import contextlib
import os

import numpy as np
import tensorflow as tf
import tifffile
from PIL import Image

from syrac.common.errors import SyracError

_MAGIC = (
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"BM", "bmp"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"II+\x00", "tiff"),
    (b"MM\x00+", "tiff"),
)
_TIFF_MAGICS = [magic for magic, kind in _MAGIC if kind == "tiff"]


def sniff_format(path):
    """Return 'jpeg', 'png', 'gif', 'bmp' or 'tiff' from the file's first bytes, else None."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except OSError:
        return None
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    return None


# Pillow's threshold for a decompression bomb: a file that claims more pixels is refused before
# decoding (TensorFlow would allocate 12 bytes per pixel for the float image, ~2 GB here).
MAX_PIXELS = 178_956_970


def header_size(path, kind):
    """``(width, height)`` read from the file's header, without decoding the pixels."""
    if kind == "tiff":
        with tifffile.TiffFile(path) as tiff:
            stored = tiff.pages[0].shape
        # A zero-stride stand-in of that shape: to_channels_last's rules, no memory used.
        stand_in = np.lib.stride_tricks.as_strided(np.zeros(1, np.uint8), stored, [0] * len(stored))
        shape = to_channels_last(stand_in).shape
        return shape[1], shape[0]
    previous, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None  # we check ourselves
    try:
        with Image.open(path) as image:
            return image.size
    finally:
        Image.MAX_IMAGE_PIXELS = previous


def image_file_problem(path):
    """Why the file at ``path`` cannot be used as an image, or ``None`` if it can.

    Looks at the file system, the first bytes and the header only: a folder, a broken symbolic
    link, an empty file, an unknown format, an unreadable header, or a size over
    :data:`MAX_PIXELS` (a decompression bomb) are each named.
    """
    if os.path.isdir(path):
        return "a folder, not an image file"
    if not os.path.exists(path):
        return "a broken symbolic link" if os.path.islink(path) else "not found"
    if os.path.getsize(path) == 0:
        return "an empty file (0 bytes)"
    kind = sniff_format(path)
    if kind is None:
        return "not a JPEG, PNG, BMP, GIF or TIFF image"
    try:
        width, height = header_size(path, kind)
    except Exception as error:  # noqa: BLE001 (any reader failure means the same to the user)
        return f"its {kind.upper()} header cannot be read ({str(error).strip() or type(error).__name__})"
    if width * height > MAX_PIXELS:
        return (
            f"{width}x{height} pixels, more than the {MAX_PIXELS:,} this tool decodes "
            "(a decompression bomb?)"
        )
    if width < 1 or height < 1:
        return f"an image of {width}x{height} pixels"
    return None


def to_unit_range(array):
    """Convert a numpy image of any dtype to float32 in [0, 1]."""
    array = np.asarray(array)
    if array.dtype == np.bool_:
        return array.astype(np.float32)
    if np.issubdtype(array.dtype, np.integer):
        info = np.iinfo(array.dtype)
        array = np.clip(array.astype(np.float64), 0, None) / float(info.max)
        return array.astype(np.float32)
    return np.clip(np.nan_to_num(array.astype(np.float32)), 0.0, 1.0)


def to_channels_last(array):
    """Bring a TIFF array to (height, width, channels), taking the first page of a stack."""
    array = np.asarray(array)
    while array.ndim > 3:
        array = array[0]
    if array.ndim == 2:
        return array[..., np.newaxis]
    if array.ndim != 3:
        raise ValueError(f"cannot read an image of shape {array.shape}")
    if array.shape[-1] <= 4:
        return array
    if array.shape[0] <= 4:  # planar storage: channels first
        return np.moveaxis(array, 0, -1)
    return array[0][..., np.newaxis]  # a stack of grayscale pages


def _read_tiff(path):
    path = path.numpy().decode("utf-8") if hasattr(path, "numpy") else path
    return to_unit_range(to_channels_last(tifffile.imread(path)))


def _to_three_channels(image):
    channels = tf.shape(image)[-1]
    return tf.cond(
        channels < 3,
        lambda: tf.tile(image[..., :1], [1, 1, 3]),
        lambda: image[..., :3],
    )


def decode_image(path, size=None):
    """Decode the image file at ``path`` (a string tensor) into float32 (H, W, 3) in [0, 1].

    Works eagerly and inside ``tf.data``. When ``size`` (height, width) is given the image is
    resized to it with bilinear interpolation.
    """
    contents = tf.io.read_file(path)
    head = tf.strings.substr(contents, 0, 4)
    is_tiff = tf.reduce_any(tf.equal(head, _TIFF_MAGICS))

    def tiff_branch():
        image = tf.py_function(_read_tiff, [path], Tout=tf.float32)
        return tf.reshape(image, [tf.shape(image)[0], tf.shape(image)[1], -1])

    def tensorflow_branch():
        # dtype=float32 decodes 16-bit PNGs at full depth and scales by the source range.
        return tf.io.decode_image(
            contents, channels=0, dtype=tf.float32, expand_animations=False
        )

    image = tf.cond(is_tiff, tiff_branch, tensorflow_branch)
    image.set_shape([None, None, None])
    image = _to_three_channels(image)
    image.set_shape([None, None, 3])
    if size is not None:
        image = tf.image.resize(image, [int(size[0]), int(size[1])], method="bilinear")
    return tf.clip_by_value(image, 0.0, 1.0)


def find_undecodable(paths, limit=5):
    """Return up to ``limit`` paths among ``paths`` that fail to decode, with the reason."""
    failures = []
    for path in dict.fromkeys(paths):
        try:
            decode_image(tf.constant(path))
        except (tf.errors.OpError, ValueError, OSError) as error:
            reason = getattr(error, "message", str(error)).strip().splitlines()[0]
            failures.append((path, reason))
            if len(failures) >= limit:
                break
    return failures


@contextlib.contextmanager
def undecodable_images_named(paths):
    """Turn a decoding failure inside a ``tf.data`` loop into a :class:`SyracError` naming files.

    ``tf.data`` reports a bad file as an anonymous op error mid-iteration; the files are then
    decoded one by one to say which ones fail. Errors not caused by a file are re-raised.
    """
    try:
        yield
    except tf.errors.OpError:
        failures = find_undecodable(paths)
        if not failures:
            raise
        listed = "; ".join(f"{path} ({reason})" for path, reason in failures)
        raise SyracError(
            f"{len(failures)}{'+' if len(failures) >= 5 else ''} image file(s) cannot be "
            f"decoded: {listed}"
        ) from None
