"""Features of a counted image set, from a frozen encoder.

Images go through the same decoding as pre-training (:func:`syrac.common.images.decode_image`: float32
in [0, 1], resized bilinearly to the input shape, aspect not kept) and the same input scaling
(:class:`syrac.rank.input_scaling.InputScaling`), with no augmentation, in batches of
``probe_batch_size`` (the authors used 3). This is what the count probe is fitted on.
"""

import numpy as np
import tensorflow as tf

from syrac.common.images import undecodable_images_named
from syrac.common.progress import progress_bar
from syrac.rank.input_scaling import InputScaling
from syrac.rank.pipeline import decoded_images


def scaled_batches(paths, input_shape, batch_size, preprocessing="resnet_v2"):
    """Batches of ``batch_size`` decoded images scaled for the encoder, in ``paths`` order."""
    scaling = InputScaling(preprocessing)
    return (
        decoded_images(paths, input_shape)
        .batch(batch_size)
        .map(scaling, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )


def extract_features(encoder, paths, input_shape, batch_size, preprocessing="resnet_v2", *,
                     progress=True):
    """Encode every image of ``paths`` with a frozen encoder.

    Args:
        encoder: a callable from scaled ``(B, H, W, 3)`` images to ``(B, D)`` features (see
            :func:`syrac.count.encoder_loading.load_encoder`).
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
