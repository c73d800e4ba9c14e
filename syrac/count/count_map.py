"""Where the count lies: a map made from patch counts of overlapping windows.

The image (at the counter's input size) is counted in windows of the grid's patch size that
overlap, a quarter patch apart by default: ``(4N - 3)^2`` windows for an ``N x N`` grid whose
sides divide evenly (25 at N = 2, against the grid's 4 patches). Each window's count is spread
evenly over its pixels, pixels covered by several windows take the mean of theirs, and the map
is scaled to sum to the image's ``N x N`` count. It is a picture of how patch counts vary over
the image, not a density estimate: the probe was never trained to place people, and a window's
count is spread over it whatever it holds.
"""

import numpy as np

DEFAULT_STRIDE = 0.25


def _starts(extent, size, stride):
    starts = list(range(0, extent - size + 1, stride))
    if starts[-1] != extent - size:
        starts.append(extent - size)  # the last window reaches the grid's edge
    return starts


def window_boxes(height, width, n, stride=DEFAULT_STRIDE):
    """``(top, left, h, w)`` of every window over the ``n x n`` grid's area of an
    ``height x width`` image: the grid's patch size, ``stride`` patches apart."""
    patch_height, patch_width = height // n, width // n
    step_y = max(1, int(round(patch_height * stride)))
    step_x = max(1, int(round(patch_width * stride)))
    return [(top, left, patch_height, patch_width)
            for top in _starts(n * patch_height, patch_height, step_y)
            for left in _starts(n * patch_width, patch_width, step_x)]


def spread_counts(counts, boxes, height, width):
    """Each window's count spread evenly over it, the mean where windows overlap; ``(h, w)``."""
    total = np.zeros((height, width), np.float64)
    cover = np.zeros((height, width), np.float64)
    for count, (top, left, h, w) in zip(counts, boxes, strict=True):
        total[top:top + h, left:left + w] += float(count) / (h * w)
        cover[top:top + h, left:left + w] += 1.0
    return np.divide(total, cover, out=np.zeros_like(total), where=cover > 0)


def count_map(counter, image, total, stride=DEFAULT_STRIDE):
    """The ``(H, W)`` float32 map of ``image`` at the counter's input size, summing to
    ``total`` (the image's N x N count); also the number of windows it took."""
    height, width = counter.image_shape[0], counter.image_shape[1]
    boxes = window_boxes(height, width, counter.n, stride)
    spread = spread_counts(counter.count_windows(image, boxes), boxes, height, width)
    mass = spread.sum()
    scaled = spread * (total / mass) if mass > 0 else spread
    return scaled.astype(np.float32), len(boxes)
