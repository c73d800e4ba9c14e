"""Patch-wise evaluation of a count probe on a benchmark's test images.

Each image is decoded and resized to the input shape, cut into an ``N x N`` grid (see
:mod:`syrac.count.patches`), every patch is scaled and encoded, the probe counts it, and the image's
count is the sum over its patches. Patches of consecutive images share forward passes of
``eval_batch_size`` patches.
"""

import dataclasses
import time

import numpy as np
import tensorflow as tf

from syrac.common.images import undecodable_images_named
from syrac.common.progress import progress_bar
from syrac.count.patches import check_grid, image_counts, patchify
from syrac.rank.input_scaling import InputScaling
from syrac.rank.pipeline import decoded_images


@dataclasses.dataclass
class PatchwiseResult:
    """Per-image outcome of a patch-wise evaluation.

    Attributes:
        image_paths: the test images, in order.
        counts: their true counts, float64 ``(I,)``.
        predictions: predicted counts, float64 ``(I,)`` (sums of the patch predictions).
        patch_predictions: float64 ``(I, N * N)``, each row row-major over the grid.
        n: patches per side.
        seconds: wall time of the loop.
    """

    image_paths: list
    counts: np.ndarray
    predictions: np.ndarray
    patch_predictions: np.ndarray
    n: int
    seconds: float


def patch_batches(paths, input_shape, ns, batch_size, preprocessing="resnet_v2"):
    """Batches of ``batch_size`` scaled patches, each image decoded once for every grid in ``ns``.

    Image 0's patches come first: its ``n * n`` patches for the first ``n`` of ``ns`` (row-major),
    then those of the next ``n``, and so on; then image 1's.
    """
    ns = [check_grid(n, int(input_shape[0]), int(input_shape[1])) for n in ns]
    scaling = InputScaling(preprocessing)

    def every_grid(image):
        return tf.concat([patchify(image, n) for n in ns], axis=0)

    return (
        decoded_images(paths, input_shape)
        .map(every_grid, num_parallel_calls=tf.data.AUTOTUNE)
        .unbatch()
        .batch(batch_size)
        .map(scaling, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )


def evaluate_patchwise_grids(encoder, probe, items, input_shape, ns, *, batch_size,
                             preprocessing="resnet_v2", progress=True):
    """Count every test image at every grid size of ``ns``, decoding each image once.

    Returns:
        ``{n: PatchwiseResult}``; the result for one ``n`` equals :func:`evaluate_patchwise`'s.
    """
    paths = [path for path, _ in items]
    counts = np.asarray([count for _, count in items], dtype=np.float64)
    if not paths:
        raise ValueError("evaluate_patchwise needs at least one image. Received: items=[]")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(
            f"batch_size must be a positive integer. Received: batch_size={batch_size!r}"
        )
    ns = [check_grid(n, int(input_shape[0]), int(input_shape[1])) for n in ns]
    if len(set(ns)) != len(ns):
        raise ValueError(f"the grid sizes must be distinct. Received: ns={ns}")
    per_image = sum(n * n for n in ns)
    bar = progress_bar(len(paths), "image", enabled=progress)
    chunks, done = [], 0
    start = time.perf_counter()
    with undecodable_images_named(paths):
        for batch in patch_batches(paths, input_shape, ns, batch_size, preprocessing):
            chunks.append(probe.predict(np.asarray(encoder(batch))))
            done += int(batch.shape[0])
            bar.update(done // per_image)
    seconds = time.perf_counter() - start
    everything = np.concatenate(chunks).reshape(len(paths), per_image)
    results, offset = {}, 0
    for n in ns:
        predictions, patch_predictions = (np.asarray(part, dtype=np.float64) for part in
                                          image_counts(everything[:, offset: offset + n * n], n))
        offset += n * n
        results[n] = PatchwiseResult(
            image_paths=paths, counts=counts, predictions=predictions,
            patch_predictions=patch_predictions, n=n, seconds=seconds,
        )
    return results


def evaluate_patchwise(encoder, probe, items, input_shape, n, *, batch_size,
                       preprocessing="resnet_v2", progress=True):
    """Count every test image as the sum of its patches' predicted counts.

    Args:
        encoder: scaled ``(B, H, W, 3)`` images -> ``(B, D)`` features.
        probe: a fitted :class:`syrac.count.probe.CountProbe`.
        items: ``[(image_path, true_count), ...]`` (see :func:`syrac.common.annotations.load_count_set`).
        input_shape: ``[H, W, 3]``: images are resized to it, and so is every patch.
        n: patches per side.
        batch_size: patches per forward pass (``eval_batch_size``).
        preprocessing: ``"resnet_v2"`` or ``"caffe"``.
        progress: show a progress bar (counted in images).

    Returns:
        A :class:`PatchwiseResult`.
    """
    n = check_grid(n, int(input_shape[0]), int(input_shape[1]))
    return evaluate_patchwise_grids(encoder, probe, items, input_shape, [n],
                                    batch_size=batch_size, preprocessing=preprocessing,
                                    progress=progress)[n]
