"""The noisy-label model of the synthetic count set: asked for N people, a person count near N.

A diffusion model prompted for "N people" draws a number of people that strays from N, more so as N
grows. docs/DESIGN.md §1 gives the mean relative error read off the authors' follow-up paper: about 7% at
N=1, 25% at N=10, 45% at N=20 and 60% at N=40. The toy world reproduces that:

    drawn = round(N * exp(sigma(N) * z)),    z ~ Normal(0, 1)

with ``sigma(N)`` chosen so that the mean relative error ``E|drawn/N - 1|`` (before rounding)
equals the curve ``e(N)``, linearly interpolated in log N between the points and held flat outside
them. The error is multiplicative (a crowd of 40 is off by tens, a pair by at most one), has a
median of exactly N, and ``scale`` multiplies every sigma (0 gives exact labels, 2 twice the
spread). The label written to the dataset is always N.
"""

import math

import numpy as np

from syrac.common.errors import SyracError

ERROR_CURVE = ((1, 0.07), (10, 0.25), (20, 0.45), (40, 0.60))

_HERMITE_NODES, _HERMITE_WEIGHTS = np.polynomial.hermite_e.hermegauss(80)
_HERMITE_WEIGHTS = _HERMITE_WEIGHTS / _HERMITE_WEIGHTS.sum()


def mean_relative_error_of_sigma(sigma):
    """``E|exp(sigma z) - 1|`` for a standard normal z (Gauss-Hermite quadrature)."""
    return float(np.sum(_HERMITE_WEIGHTS * np.abs(np.expm1(sigma * _HERMITE_NODES))))


def sigma_for_error(error):
    """Invert :func:`mean_relative_error_of_sigma` by bisection (it increases with sigma)."""
    low, high = 0.0, 5.0
    for _ in range(60):
        middle = (low + high) / 2
        if mean_relative_error_of_sigma(middle) < error:
            low = middle
        else:
            high = middle
    return (low + high) / 2


class CountNoise:
    """Draws the number of people actually put in an image that was "asked for" N people.

    Args:
        curve: ``[(N, mean relative error), ...]`` with N increasing and errors >= 0.
        scale: multiplies every sigma; 0 turns the noise off.
    """

    def __init__(self, curve=ERROR_CURVE, scale=1.0):
        curve = [(float(n), float(error)) for n, error in curve]
        if not curve or any(n < 1 or error < 0 for n, error in curve):
            raise SyracError(f"count noise curve needs points (N >= 1, error >= 0). Received: {curve}")
        if any(b[0] <= a[0] for a, b in zip(curve, curve[1:])):
            raise SyracError(f"count noise curve must have increasing N. Received: {curve}")
        if not (isinstance(scale, (int, float)) and scale >= 0):
            raise SyracError(f"count noise scale must be a number >= 0. Received: {scale!r}")
        self.curve = curve
        self.scale = float(scale)
        self._log_n = np.log([n for n, _ in curve])
        self._errors = np.array([error for _, error in curve])

    def relative_error(self, n):
        """The curve's mean relative error at N (interpolated in log N, flat outside)."""
        return float(np.interp(math.log(max(n, 1)), self._log_n, self._errors))

    def sigma(self, n):
        """Log-normal spread used at N, including ``scale``."""
        return self.scale * sigma_for_error(self.relative_error(n))

    def sample(self, rng, n):
        """Number of people to draw for an image asked to hold ``n`` people (0 stays 0)."""
        if n == 0:
            return 0
        return int(round(n * math.exp(self.sigma(n) * rng.standard_normal())))

    def get_config(self):
        return {"curve": [list(point) for point in self.curve], "scale": self.scale}
