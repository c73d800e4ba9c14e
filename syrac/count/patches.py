"""The evaluation patch protocol (docs/DESIGN.md §4, the authors' ``patchify``).

A test image, already resized to the input shape ``H x W``, is cut into an ``N x N`` grid of
patches of ``(H // N) x (W // N)`` pixels; the remainder rows at the bottom and columns at the
right are dropped. Patches are listed row-major (patch ``(i, j)`` is number ``i * N + j``) and
each is resized back to ``H x W`` with bilinear interpolation, so the encoder sees every patch at
the size it was trained on. The image's count is the sum of its patches' counts.
"""

import numbers

import tensorflow as tf
from keras import ops

from syrac.common.errors import SyracError


def check_grid(n, height, width, spelled="--N"):
    """Refuse a grid size ``n`` that is not a positive integer fitting an ``height x width`` image,
    naming it as the user wrote it (``spelled``: the option, or a recipe's key).

    Returns:
        ``n`` as a Python int.
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise SyracError(
            f"{spelled} must be a positive integer (patches per side). Received: N={n!r}"
        )
    n = int(n)
    if height // n < 1 or width // n < 1:
        raise SyracError(
            f"{spelled} {n} is too large for the input shape {height}x{width}: patches of "
            f"{height // n}x{width // n} pixels; N can be at most {min(height, width)}"
        )
    return n


def patch_boxes(height, width, n):
    """Return the ``(top, left, patch_height, patch_width)`` of each patch, row-major."""
    n = check_grid(n, height, width)
    patch_height, patch_width = height // n, width // n
    return [
        (row * patch_height, col * patch_width, patch_height, patch_width)
        for row in range(n)
        for col in range(n)
    ]


def patchify(images, n):
    """Cut a batch of images into ``n x n`` patches, each resized back to the image size.

    Works eagerly and inside ``tf.data`` / ``tf.function``; height and width must be static.

    Args:
        images: float tensor ``(B, H, W, C)``, or one image ``(H, W, C)``.
        n: patches per side.

    Returns:
        ``(B * n * n, H, W, C)`` float32: the patches of image 0 first, each image's patches
        row-major.
    """
    images = tf.convert_to_tensor(images)
    if images.shape.rank == 3:
        images = images[tf.newaxis]
    if images.shape.rank != 4:
        raise ValueError(
            f"patchify expects (batch, height, width, channels) images. "
            f"Received: shape={tuple(images.shape)}"
        )
    height, width, channels = images.shape[1], images.shape[2], images.shape[3]
    if height is None or width is None or channels is None:
        raise ValueError(
            f"patchify needs a static height, width and channel count. "
            f"Received: shape={tuple(images.shape)}"
        )
    n = check_grid(n, height, width)
    patch_height, patch_width = height // n, width // n
    cropped = images[:, : n * patch_height, : n * patch_width, :]
    # (B, n, ph, n, pw, C) -> (B, n_rows, n_cols, ph, pw, C): row-major patch order.
    grid = tf.reshape(cropped, [-1, n, patch_height, n, patch_width, channels])
    grid = tf.transpose(grid, [0, 1, 3, 2, 4, 5])
    patches = tf.reshape(grid, [-1, patch_height, patch_width, channels])
    return tf.image.resize(patches, [height, width], method="bilinear")


def image_counts(patch_counts, n):
    """Each image's count, the sum of its ``n x n`` patches' counts.

    The one place the counting arithmetic is written: the Count step's evaluation (NumPy
    arrays) and :class:`syrac.count.counter.PatchCounter` (tensors) both call it.

    Args:
        patch_counts: the per-patch counts of consecutive images, ``(B * n * n,)``,
            ``(B * n * n, 1)`` or ``(B, n * n)``, each image's patches row-major.
        n: patches per side.

    Returns:
        ``(counts, grid)``: ``(B,)`` image counts and the ``(B, n * n)`` per-patch counts.
    """
    grid = ops.reshape(patch_counts, [-1, n * n])
    return ops.sum(grid, axis=1), grid
