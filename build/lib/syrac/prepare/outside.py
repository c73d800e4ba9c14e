"""Head points that fall outside their image: found, reported, and dropped on request.

Annotation tools let a click land a pixel or two past the border, and some ground truth was
made on another resolution of the image. Such points still count by default (the count is the
number of annotated heads); ``--drop_outside`` removes them, points and count alike.

A point is inside when ``0 <= x <= width`` and ``0 <= y <= height``: MATLAB ground truth is
1-based, so ``x == width`` is the last pixel column, not past it.
"""

import numpy as np

from syrac.common.errors import listed


def outside_mask(points, width, height):
    """Boolean mask of the ``(N, 2)`` points lying outside a ``width`` x ``height`` image."""
    if points is None or len(points) == 0:
        return np.zeros((0,), dtype=bool)
    x, y = points[:, 0], points[:, 1]
    return (x < 0) | (y < 0) | (x > width) | (y > height)


def outside_report(found, dropped):
    """Lines saying how many points lie outside their image, with the first few images.

    Args:
        found: ``[(split/name, outside, total), ...]`` for images with at least one such point.
        dropped: whether ``--drop_outside`` removed them.
    """
    if not found:
        return []
    points = sum(outside for _, outside, _ in found)
    action = "dropped (--drop_outside)" if dropped else "kept; pass --drop_outside to drop them"
    return [
        f"{points} point(s) outside their image in {len(found)} image(s), {action}: "
        + listed(f"{name} ({outside} of {total})" for name, outside, total in found)
    ]
