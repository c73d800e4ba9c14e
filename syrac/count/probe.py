"""The count probe: a linear layer with non-negative weights and no intercept.

The authors fitted scikit-learn's ``LinearRegression(positive=True, fit_intercept=False)`` on the
features of whole noisy synthetic images. With one target, no sample weights and no intercept,
scikit-learn solves exactly ``scipy.optimize.nnls(features, counts)`` (Lawson-Hanson active set,
float64, default iteration limit): this module calls the same solver, so the weights are the
same without depending on scikit-learn.

A probe is saved as two files in a folder, read back without pickle:

- ``weights.npy``: the float64 weight vector ``(D,)``;
- ``probe.json``: its :class:`ProbeRecord`: what it is and how well it fits its training data
  (feature size, fit method, sample count, residual statistics), the settings it was fitted
  with, when, and where it came from (encoder, training set, command).
"""

import dataclasses
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


@dataclasses.dataclass
class ProbeRecord:
    """What ``probe.json`` holds, typed; :meth:`to_json` writes it and :meth:`from_json` reads it.

    Attributes:
        feature_dim: the encoder's feature size, the weight vector's length.
        n_samples: images the probe was fitted on.
        nonzero_weights: weights above zero after the fit.
        residuals: the fit's residual statistics (mean, std, mae, rmse, max_abs, r2).
        count_range: ``[min, max]`` of the training counts.
        fit_method: how the weights were solved.
        input_shape, preprocessing, probe_batch_size: how the encoder saw the images.
        fitted_at: when (a timestamp), also the archive folder name of a replaced probe.
        seconds: how long feature extraction and the solve took.
        provenance: where it came from: ``encoder_path``, ``train_data``, ``data_dir`` from every
            writer, and the writer's own (the step's ``experiment``, ``config``, ``run_tag``;
            the table's content hashes).
    """

    feature_dim: int
    n_samples: int
    nonzero_weights: int
    residuals: dict
    count_range: list
    fit_method: str = FIT_METHOD
    input_shape: list = None
    preprocessing: str = None
    probe_batch_size: int = None
    fitted_at: str = None
    seconds: dict = None
    provenance: dict = dataclasses.field(default_factory=dict)

    REQUIRED = ("feature_dim", "n_samples", "nonzero_weights", "residuals", "count_range")

    def to_json(self):
        """The flat JSON document of ``probe.json`` (provenance keys beside the fields)."""
        fields = {field.name: getattr(self, field.name) for field in dataclasses.fields(self)
                  if field.name != "provenance"}
        return {**fields, **{key: value for key, value in self.provenance.items()
                             if key not in fields}}

    @classmethod
    def from_json(cls, document, path):
        """Read a ``probe.json`` document; refuse a wrong type or a missing key by name."""
        if not isinstance(document, dict):
            raise SyracError(f"{path}: expected an object. Received: {type(document).__name__}")
        missing = [key for key in cls.REQUIRED if key not in document]
        if missing:
            raise SyracError(f"{path}: missing key(s) {missing}")
        for key, kind in (("feature_dim", int), ("n_samples", int), ("nonzero_weights", int),
                          ("residuals", dict), ("count_range", list)):
            if not isinstance(document[key], kind) or isinstance(document[key], bool):
                raise SyracError(f"{path}: '{key}' must be {kind.__name__}. "
                                 f"Received: {key}={document[key]!r}")
        names = {field.name for field in dataclasses.fields(cls)} - {"provenance"}
        return cls(**{key: value for key, value in document.items() if key in names},
                   provenance={key: value for key, value in document.items()
                               if key not in names})


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
        record: its :class:`ProbeRecord` (made by :meth:`fit`, read by :meth:`load`).
        provenance: where a probe about to be fitted comes from (kept in its record).

    Example:
        >>> probe = CountProbe(provenance={"train_data": "synth"}).fit(features, counts)
        >>> probe.save("runs/MODEL/noisy_synth_regression/probe")
        >>> CountProbe.load("runs/MODEL/noisy_synth_regression/probe").predict(features)
    """

    def __init__(self, weights=None, record=None, provenance=None):
        self.weights = None if weights is None else np.asarray(weights, dtype=np.float64)
        self.record = record
        self._provenance = dict(provenance or {})

    @property
    def description(self):
        """``probe.json``'s document (read-only: change :attr:`record`)."""
        return {} if self.record is None else self.record.to_json()

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
        self.record = ProbeRecord(
            feature_dim=int(features.shape[1]),
            n_samples=int(features.shape[0]),
            nonzero_weights=int(np.count_nonzero(weights)),
            residuals=residual_statistics(predicted, counts),
            count_range=[float(np.min(counts)), float(np.max(counts))],
            provenance=dict(self._provenance),
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
        write_json_atomic(os.path.join(folder, DESCRIPTION_FILE), self.record.to_json(),
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
        record = ProbeRecord.from_json(read_json(description_path), description_path)
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
        if record.feature_dim != weights.shape[0]:
            raise SyracError(
                f"{folder}: probe.json says feature_dim={record.feature_dim!r} but weights.npy "
                f"holds {weights.shape[0]} weights"
            )
        return cls(weights, record)
