"""Image sizes: what the model takes, and the way back to each source image's own size.

Real crowd images come in every size and aspect. Each one is **resized** (bilinear, antialiased,
aspect not kept, as the project's training pipeline resizes; docs/DESIGN.md §4) to the job's model
size, regenerated, and resized back to its own size, so a pair's two images have the same size.
Tiling was the alternative and was not chosen: a tile sees only part of the scene, people cut by
tile borders are regenerated twice or leave seams, and a large image costs many generations.

The model size is ``--size S`` (square) or ``--size HxW``; both sides must be multiples of 16:
the VAE divides by 8 and the transformer cuts the latent into 2x2 patches.

Masks (inpainting) are white where the people to remove are. They are read as gray levels and
thresholded at 0.5; a resized mask is white wherever any white pixel fell, so shrinking a mask
to the model's size never loses a small, distant person. After inpainting,
the pixels outside the mask are put back from the source at full resolution: the target differs
from the source only where people were.
"""

import numpy as np
import tensorflow as tf

from syrac.common.errors import SyracError

SIZE_MULTIPLE = 16


def parse_size(text):
    """``"1024"`` -> (1024, 1024); ``"768x1024"`` -> (768, 1024) as (height, width)."""
    parts = str(text).lower().split("x")
    try:
        sides = [int(part) for part in parts]
    except ValueError:
        sides = []
    if len(sides) == 1:
        sides = sides * 2
    if len(sides) != 2 or min(sides) <= 0:
        raise SyracError(f"--size must be S or HxW in pixels. Received: --size {text}")
    if any(side % SIZE_MULTIPLE for side in sides):
        raise SyracError(
            f"--size {text}: both sides must be multiples of {SIZE_MULTIPLE} "
            "(the VAE's factor 8 times the transformer's 2x2 patches)"
        )
    return tuple(sides)


def resize(image, size):
    """Resize a float (H, W, C) image to ``size`` (height, width), bilinear and antialiased."""
    image = np.asarray(image, "float32")
    if image.shape[:2] == tuple(size):
        return image
    resized = tf.image.resize(image, size, method="bilinear", antialias=True)
    return np.clip(resized.numpy(), 0.0, 1.0)


def resize_mask(mask, size):
    """Resize a 0/1 (H, W) mask to ``size``: 1 wherever any masked pixel falls."""
    mask = np.asarray(mask, "float32")
    if mask.shape == tuple(size):
        return mask
    resized = tf.image.resize(mask[..., None], size, method="area")
    return (resized.numpy()[..., 0] > 0).astype("float32")


def binarize_mask(image):
    """A decoded mask image (H, W, 3) in [0, 1] to a 0/1 (H, W) float mask: white = 1."""
    return (np.asarray(image, "float32").mean(axis=-1) > 0.5).astype("float32")


def composite(source, generated, mask):
    """``generated`` where ``mask`` is 1, ``source`` elsewhere (all at the source's size)."""
    mask = np.asarray(mask, "float32")[..., None]
    return generated * mask + np.asarray(source, "float32") * (1.0 - mask)


def is_grayscale(image):
    """True when the three channels are equal (grayscale files decode that way)."""
    image = np.asarray(image)
    return bool(np.array_equal(image[..., 0], image[..., 1])
                and np.array_equal(image[..., 0], image[..., 2]))


def to_grayscale(image):
    """Luma (ITU-R 601) in all three channels, so a grayscale source gets a grayscale target."""
    luma = np.asarray(image, "float32") @ np.array([0.299, 0.587, 0.114], "float32")
    return np.repeat(luma[..., None], 3, axis=-1)


def to_uint8(image):
    return np.round(np.clip(np.asarray(image, "float32"), 0.0, 1.0) * 255.0).astype("uint8")
