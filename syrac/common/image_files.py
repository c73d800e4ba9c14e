"""Image files without TensorFlow: what a file is, whether it can be used, and its pixels.

:func:`sniff_format` tells a file's format from its first bytes, :func:`image_file_problem` says
why a file cannot be used (reading the header only), and :func:`read_image` decodes one into
float32 ``(H, W, 3)`` in [0, 1] with Pillow and tifffile, the same conventions as
:func:`syrac.common.images.decode_image` (which decodes with TensorFlow, as the pipelines do). The
two give the same pixels for PNG, BMP, GIF and TIFF; for JPEG, TensorFlow's default inverse DCT
is libjpeg's fast integer one and Pillow's the accurate one, so pixels can differ by a few grey
levels. Counting with ONNX Runtime or LiteRT (``syrac count --model counter.onnx``) reads images
here, so that it runs where TensorFlow is not installed.
"""

import os

import numpy as np
import tifffile
from PIL import Image

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


def _three_channels(array):
    if array.shape[-1] < 3:
        return np.repeat(array[..., :1], 3, axis=-1)
    return array[..., :3]


def read_image(path):
    """The image file at ``path`` as float32 ``(H, W, 3)`` in [0, 1], without TensorFlow.

    Grayscale (with or without alpha) becomes 3 equal channels, alpha is dropped, integer images
    are scaled by their type's maximum, the first frame of a GIF and the first page of a TIFF
    are read. Raises ``OSError`` or ``ValueError`` for a file that cannot be decoded.
    """
    kind = sniff_format(path)
    if kind == "tiff":
        return _three_channels(to_unit_range(to_channels_last(tifffile.imread(path))))
    with Image.open(path) as image:
        image.seek(0)
        if image.mode in ("P", "PA", "CMYK", "YCbCr", "LAB", "HSV", "1"):
            image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        array = np.asarray(image)
    if array.dtype == np.int32:  # Pillow's mode "I" for 16-bit files
        array = np.clip(array, 0, 65535).astype(np.uint16)
    if kind == "png" and array.dtype == np.uint8:  # TensorFlow reads PNGs at 16 bits
        array = array.astype(np.uint16) * np.uint16(257)
    if array.dtype in (np.uint8, np.uint16):  # TensorFlow's scaling: times 1/max in float32
        array = array.astype(np.float32) * np.float32(1.0 / np.iinfo(array.dtype).max)
    return _three_channels(to_unit_range(to_channels_last(array)))
