"""The count probe: a linear layer with non-negative weights and no intercept.

The authors fitted scikit-learn's ``LinearRegression(positive=True, fit_intercept=False)`` on the
features of whole noisy synthetic images. With one target, no sample weights and no intercept,
scikit-learn solves exactly ``scipy.optimize.nnls(features, counts)`` (Lawson-Hanson active set,
float64, default iteration limit): this module calls the same solver, so the weights are the
same without depending on scikit-learn.

A probe is saved as two files in a folder, read back without pickle:

- ``weights.npy``: the float64 weight vector ``(D,)``;
- ``probe.json``: what it is and how well it fits its training data (feature size, fit method,
  sample count, residual statistics, encoder, training set, settings).
"""

import math
import os

import numpy as np
from scipy.optimize import nnls

from syrac.common.errors import SyracError
from syrac.common.files import read_json, write_json_atomic
from syrac.count.metrics import r2_score

WEIGHTS_FILE = "weights.npy"
DESCRIPTION_FILE = "probe.json"
FIT_METHOD = (
    "non-negative least squares without intercept (scipy.optimize.nnls; equivalent to "
    "sklearn LinearRegression(positive=True, fit_intercept=False))"
)


def _as_matrix(features, name="features"):
    array = np.asarray(features, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(
            f"{name} must be a non-empty (samples, features) array. Received: shape={array.shape}"
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} hold {int(np.sum(~np.isfinite(array)))} non-finite value(s)")
    return array


def residual_statistics(predicted, true):
    """Residuals ``true - predicted``: mean, std, mae, rmse, max_abs and r2 (null if undefined)."""
    predicted = np.asarray(predicted, dtype=np.float64)
    true = np.asarray(true, dtype=np.float64)
    residuals = true - predicted
    r2 = r2_score(predicted, true)
    return {
        "mean": float(np.mean(residuals)),
        "std": float(np.std(residuals)),
        "mae": float(np.mean(np.abs(residuals))),
        "rmse": float(np.sqrt(np.mean(residuals**2))),
        "max_abs": float(np.max(np.abs(residuals))),
        "r2": None if math.isnan(r2) else float(r2),
    }


class CountProbe:
    """Predicts a count as ``features . weights`` with ``weights >= 0`` and no intercept.

    Args:
        weights: the ``(D,)`` weight vector of a fitted probe, or ``None`` before :meth:`fit`.
        description: the JSON-ready record saved as ``probe.json`` (filled by :meth:`fit`; the
            caller may add keys such as the encoder path and the training set).

    Example:
        >>> probe = CountProbe().fit(features, counts)
        >>> probe.save("runs/MODEL/noisy_synth_regression/probe")
        >>> CountProbe.load("runs/MODEL/noisy_synth_regression/probe").predict(features)
    """

    def __init__(self, weights=None, description=None):
        self.weights = None if weights is None else np.asarray(weights, dtype=np.float64)
        self.description = dict(description or {})

    @property
    def feature_dim(self):
        return None if self.weights is None else int(self.weights.shape[0])

    def fit(self, features, counts):
        """Fit the weights by non-negative least squares; return ``self``."""
        features = _as_matrix(features)
        counts = np.asarray(counts, dtype=np.float64).reshape(-1)
        if counts.shape[0] != features.shape[0]:
            raise ValueError(
                f"features and counts differ in length. Received: {features.shape[0]} "
                f"feature rows and {counts.shape[0]} counts"
            )
        if not np.all(np.isfinite(counts)):
            raise ValueError("counts hold non-finite values")
        try:
            weights, _ = nnls(features, counts)
        except RuntimeError as error:
            raise SyracError(
                f"the non-negative least squares fit on {features.shape[0]} samples x "
                f"{features.shape[1]} features did not converge: {error}"
            ) from None
        self.weights = weights
        predicted = features @ weights
        self.description.update(
            {
                "feature_dim": int(features.shape[1]),
                "fit_method": FIT_METHOD,
                "n_samples": int(features.shape[0]),
                "nonzero_weights": int(np.count_nonzero(weights)),
                "residuals": residual_statistics(predicted, counts),
                "count_range": [float(np.min(counts)), float(np.max(counts))],
            }
        )
        return self

    def predict(self, features):
        """Return the ``(B,)`` float64 counts predicted for ``(B, D)`` features."""
        if self.weights is None:
            raise ValueError("this CountProbe is not fitted yet; call fit() or load()")
        features = _as_matrix(features)
        if features.shape[1] != self.feature_dim:
            raise SyracError(
                f"the probe expects {self.feature_dim} features but the encoder gives "
                f"{features.shape[1]}; it was fitted on another encoder"
            )
        return features @ self.weights

    def save(self, folder):
        """Write ``weights.npy`` and ``probe.json`` into ``folder`` (created if needed)."""
        if self.weights is None:
            raise ValueError("cannot save a CountProbe that is not fitted")
        os.makedirs(folder, exist_ok=True)
        np.save(os.path.join(folder, WEIGHTS_FILE), self.weights, allow_pickle=False)
        write_json_atomic(os.path.join(folder, DESCRIPTION_FILE), self.description,
                          indent=1, sort_keys=False, allow_nan=False)
        return folder

    @classmethod
    def load(cls, folder):
        """Read a probe written by :meth:`save`; refuse missing, corrupt or inconsistent files."""
        weights_path = os.path.join(folder, WEIGHTS_FILE)
        description_path = os.path.join(folder, DESCRIPTION_FILE)
        missing = [p for p in (weights_path, description_path) if not os.path.isfile(p)]
        if missing:
            names = ", ".join(os.path.basename(path) for path in missing)
            raise SyracError(f"no count probe in {folder}: missing {names}")
        try:
            weights = np.load(weights_path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as error:
            raise SyracError(f"{weights_path}: not a readable .npy array: {error}") from None
        description = read_json(description_path)
        if not isinstance(description, dict):
            raise SyracError(
                f"{description_path}: expected an object, got {type(description).__name__}"
            )
        if weights.ndim != 1 or weights.shape[0] == 0 or not np.issubdtype(
            weights.dtype, np.floating
        ):
            raise SyracError(
                f"{weights_path}: expected a 1-D float weight vector, found dtype "
                f"{weights.dtype} and shape {weights.shape}"
            )
        if not np.all(np.isfinite(weights)) or np.any(weights < 0):
            raise SyracError(
                f"{weights_path}: the weights of a count probe are finite and >= 0; these are not"
            )
        recorded = description.get("feature_dim")
        if recorded != weights.shape[0]:
            raise SyracError(
                f"{folder}: probe.json says feature_dim={recorded!r} but weights.npy holds "
                f"{weights.shape[0]} weights"
            )
        return cls(weights, description)
