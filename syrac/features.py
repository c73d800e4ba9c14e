"""Features of a counted image set, from a frozen encoder.

Images go through the same decoding as pre-training (:func:`syrac.images.decode_image`: float32
in [0, 1], resized bilinearly to the input shape, aspect not kept) and the same input scaling
(:class:`syrac.preprocessing.InputScaling`), with no augmentation, in batches of
``probe_batch_size`` (the authors used 3). This is what the count probe is fitted on.
"""

import contextlib

import numpy as np
import tensorflow as tf

from syrac.errors import SyracError
from syrac.images import decode_image, find_undecodable
from syrac.preprocessing import InputScaling
from syrac.progress import progress_bar


def decoded_images(paths, input_shape):
    """A ``tf.data`` dataset of the images at ``paths``, decoded and resized to ``input_shape``."""
    size = (int(input_shape[0]), int(input_shape[1]))
    dataset = tf.data.Dataset.from_tensor_slices(tf.constant(list(paths), dtype=tf.string))
    return dataset.map(
        lambda path: decode_image(path, size), num_parallel_calls=tf.data.AUTOTUNE
    )


def scaled_batches(paths, input_shape, batch_size, preprocessing="resnet_v2"):
    """Batches of ``batch_size`` decoded images scaled for the encoder, in ``paths`` order."""
    scaling = InputScaling(preprocessing)
    return (
        decoded_images(paths, input_shape)
        .batch(batch_size)
        .map(scaling, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )


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


def extract_features(encoder, paths, input_shape, batch_size, preprocessing="resnet_v2",
                     progress=True):
    """Encode every image of ``paths`` with a frozen encoder.

    Args:
        encoder: a callable from scaled ``(B, H, W, 3)`` images to ``(B, D)`` features (see
            :func:`syrac.encoder_loading.load_encoder`).
        paths: image file paths.
        input_shape: ``[H, W, 3]`` the images are resized to.
        batch_size: images per forward pass (``probe_batch_size``).
        preprocessing: ``"resnet_v2"`` or ``"caffe"`` (see :class:`InputScaling`).
        progress: show a progress bar.

    Returns:
        float32 array ``(len(paths), D)``, rows in the order of ``paths``.
    """
    paths = list(paths)
    if not paths:
        raise ValueError("extract_features needs at least one image. Received: paths=[]")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(
            f"batch_size must be a positive integer. Received: batch_size={batch_size!r}"
        )
    bar = progress_bar(len(paths), "image", enabled=progress)
    chunks = []
    with undecodable_images_named(paths):
        for batch in scaled_batches(paths, input_shape, batch_size, preprocessing):
            features = np.asarray(encoder(batch), dtype=np.float32)
            chunks.append(features)
            bar.add(features.shape[0])
    return np.concatenate(chunks, axis=0)
