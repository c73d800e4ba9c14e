"""The one rule that draws a validation split, for every command that carves one.

``python -m syrac prepare`` (a benchmark without an official val), ``prepare intra-rank`` and
``synth remove-people`` all call :func:`draw_validation`: of ``count`` items in a fixed order,
``round(fraction * count)`` are drawn without replacement by NumPy's default generator seeded
with ``seed`` (``Generator.choice``), never all of them (at most ``count - 1``, so training keeps
one item), and, where a val split is required, at least one. The indices are returned sorted;
the callers record the chosen names, the seed and the fraction next to the dataset.
"""

import numpy as np

from syrac.common.errors import SyracError


def draw_validation(count, fraction, seed, at_least_one=False, option="--val_fraction"):
    """Sorted indices of the validation items among ``count`` (see the module's rule).

    Args:
        count: number of items, in an order fixed by the caller (sorted names).
        fraction: share for validation: in [0, 1), or (0, 1) when ``at_least_one``.
        seed: seed of the draw.
        at_least_one: the dataset needs a val split (a ranking set), so draw one or more.
        option: the option ``fraction`` came from, named in messages.
    """
    low_ok = fraction > 0 if at_least_one else fraction >= 0
    if not (low_ok and fraction < 1):
        interval = "(0, 1)" if at_least_one else "[0, 1)"
        raise SyracError(f"{option} must be in {interval}. Received: {fraction}")
    size = int(round(fraction * count))
    if at_least_one:
        size = max(1, size)
    size = max(0, min(size, count - 1))
    picked = np.random.default_rng(seed).choice(count, size=size, replace=False)
    return sorted(int(index) for index in picked)
