"""Decoding image files into 3-channel float32 tensors in [0, 1], resized to the input shape.

JPEG, PNG, BMP and GIF go through TensorFlow's decoders; TIFF goes through tifffile (TensorFlow
has no TIFF decoder). Grayscale and grayscale+alpha become 3 equal channels, RGBA loses its
alpha, 16-bit and other integer images are scaled by their type's maximum. Resizing is bilinear
and does not keep the aspect ratio, as in the authors' pipeline.
"""

import contextlib

import tensorflow as tf
import tifffile

from syrac.common.errors import SyracError
from syrac.common.image_files import (  # noqa: F401 (re-exported: one import for the pipelines)
    _TIFF_MAGICS,
    MAX_PIXELS,
    header_size,
    image_file_problem,
    sniff_format,
    to_channels_last,
    to_unit_range,
)


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
