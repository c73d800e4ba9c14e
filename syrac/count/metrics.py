"""Counting metrics, named without ambiguity.

The authors' code reports ``mse`` as the mean squared error, with no square root. Every other
crowd-counting codebase reports the *root* of it and calls it "MSE". Both are returned here:
``mse`` (no root, comparable with the authors' logs) and ``rmse`` (comparable with the
literature's "MSE" columns). ``nae`` is the normalised absolute error of the NWPU-Crowd
benchmark: the mean of ``|predicted - true| / true`` over the images with people, as its
official scorer leaves empty images out; how many were left out, and the mean count the
predictor gave them, come with it.
"""

import math

import numpy as np


def _as_vectors(predicted, true):
    predicted = np.asarray(predicted, dtype=np.float64).reshape(-1)
    true = np.asarray(true, dtype=np.float64).reshape(-1)
    if predicted.shape != true.shape:
        raise ValueError(
            f"predicted and true counts differ in length. Received: {predicted.shape[0]} "
            f"predictions and {true.shape[0]} true counts"
        )
    if predicted.size == 0:
        raise ValueError("counting metrics need at least one image. Received: 0 counts")
    if not (np.all(np.isfinite(predicted)) and np.all(np.isfinite(true))):
        raise ValueError("counting metrics need finite counts; received NaN or infinity")
    return predicted, true


def r2_score(predicted, true):
    """Coefficient of determination, as ``sklearn.metrics.r2_score(true, predicted)``.

    ``1 - sum((true - predicted)^2) / sum((true - mean(true))^2)``. When every true count is the
    same the ratio is undefined and NaN is returned (scikit-learn's default would return 1.0 for
    a perfect prediction and 0.0 otherwise; NaN keeps "undefined" visible, and is written as
    ``null`` in results files).
    """
    predicted, true = _as_vectors(predicted, true)
    total = float(np.sum((true - np.mean(true)) ** 2))
    if total == 0.0:
        return math.nan
    return 1.0 - float(np.sum((true - predicted) ** 2)) / total


def normalised_absolute_error(predicted, true):
    """NWPU-Crowd's NAE: the mean of ``|predicted - true| / true`` over images with ``true > 0``
    (NaN when every image is empty)."""
    predicted, true = _as_vectors(predicted, true)
    people = true > 0
    if not np.any(people):
        return math.nan
    return float(np.mean(np.abs(predicted[people] - true[people]) / true[people]))


def count_metrics(predicted, true):
    """Return ``{"mae", "mse", "rmse", "nae", "r2", "n", "empty_images",
    "empty_images_mean_count"}`` for per-image predicted and true counts.

    ``mse`` is the mean squared error (no root, as the authors computed it); ``rmse`` is its
    root, which the crowd-counting literature calls "MSE". ``nae`` leaves out the
    ``empty_images`` (true count 0), whose mean predicted count is ``empty_images_mean_count``;
    both ``nae`` and that mean are NaN when undefined, and so is ``r2`` when the true counts are
    all equal (see :func:`r2_score`).
    """
    predicted, true = _as_vectors(predicted, true)
    errors = predicted - true
    mse = float(np.mean(errors**2))
    empty = true == 0
    return {
        "mae": float(np.mean(np.abs(errors))),
        "mse": mse,
        "rmse": math.sqrt(mse),
        "nae": normalised_absolute_error(predicted, true),
        "r2": r2_score(predicted, true),
        "n": int(true.size),
        "empty_images": int(np.sum(empty)),
        "empty_images_mean_count": float(np.mean(predicted[empty])) if np.any(empty)
        else math.nan,
    }


def summary_line(metrics):
    """``MAE 5.71 RMSE 6.98 NAE 0.310``, and what NAE left out when a split has empty images."""
    nae = metrics.get("nae")
    line = (f"MAE {metrics['mae']:.2f} RMSE {metrics['rmse']:.2f} NAE "
            + ("n/a" if nae is None or math.isnan(nae) else f"{nae:.3f}"))
    empty = metrics.get("empty_images") or 0
    if empty:
        line += (f" ({empty} of {metrics['n']} images have no one and are left out of NAE; "
                 f"they were given {metrics['empty_images_mean_count']:.2f} people on average)")
    return line


def json_ready(metrics):
    """A copy of ``metrics`` with NaN replaced by ``None`` (JSON has no NaN)."""
    return {
        key: None if isinstance(value, float) and math.isnan(value) else value
        for key, value in metrics.items()
    }


def rank_accuracy(source_scores, target_scores):
    """Fraction of pairs whose source scores above its target; a tie counts one half.

    With a constant predictor every pair is a tie, so predicting the mean scores exactly 0.5.
    """
    source = np.asarray(source_scores, dtype=np.float64).reshape(-1)
    target = np.asarray(target_scores, dtype=np.float64).reshape(-1)
    if source.shape != target.shape or source.size == 0:
        raise ValueError(f"rank accuracy needs as many sources as targets, at least one. "
                         f"Received: {source.size} and {target.size}")
    return float(np.mean((source > target) + 0.5 * (source == target)))
