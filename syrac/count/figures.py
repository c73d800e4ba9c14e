"""Figures of an evaluation, as PNG files (matplotlib's Agg renderer, no display needed).

- :func:`error_by_count_range`: the authors' figure: absolute error per true-count range
  (bins of 20 from the smallest count, a final open bin from 1500 up), box plots without
  fliers on top and the number of images per bin below.
- :func:`predicted_vs_true`: a scatter of predicted against true counts with the ``y = x`` line,
  MAE and RMSE in the title.
- :func:`patch_grids`: the first test images with their ``N x N`` grid, each patch's predicted
  count written on it, titled "true X / predicted Y".

Every function writes a new file and refuses to replace an existing one.
"""

import math

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from syrac.common.images import decode_image

BIN_WIDTH = 20
BIN_CAP = 1500


def _save(figure, path):
    """Write ``figure`` to a new PNG file at ``path``; never overwrite."""
    FigureCanvasAgg(figure)
    with open(path, "xb") as handle:  # "x": fail if the file exists.
        figure.savefig(handle, format="png", dpi=100, bbox_inches="tight")
    return path


def count_bins(true, width=BIN_WIDTH, cap=BIN_CAP):
    """Group true counts into ranges of ``width`` from the smallest count, open from ``cap`` up.

    Returns:
        ``(bins, index)``: ``bins`` is a list of ``(low, high)`` with ``high=None`` for the open
        bin; regular bins are half-open ``[low, high)`` and the last one below ``cap`` stops at
        ``cap``. ``index[k]`` is the bin of ``true[k]``. Bins run from the smallest to the
        largest count, empty ones included.
    """
    true = np.asarray(true, dtype=np.float64).reshape(-1)
    if true.size == 0:
        raise ValueError("count_bins needs at least one count. Received: 0 counts")
    start = math.floor(float(true.min()))
    largest = float(true.max())
    bins = []
    low = start
    while low < cap and low <= largest:
        bins.append((low, min(low + width, cap)))
        low += width
    if largest >= cap:
        bins.append((cap, None))
    index = np.where(
        true >= cap,
        len(bins) - 1,
        np.floor((true - start) / width).astype(np.int64),
    )
    return bins, index.astype(np.int64)


def _bin_label(low, high):
    if high is None:
        return f"{low:g}+"
    return f"{low:g}-{high:g}"


def error_by_count_range(predicted, true, path, title=None):
    """Box plots of absolute error per true-count bin (top) and images per bin (bottom)."""
    predicted = np.asarray(predicted, dtype=np.float64).reshape(-1)
    true = np.asarray(true, dtype=np.float64).reshape(-1)
    errors = np.abs(predicted - true)
    bins, index = count_bins(true)
    positions = np.arange(len(bins))
    per_bin = [errors[index == k] for k in positions]
    filled = [k for k in positions if per_bin[k].size]

    figure = Figure(figsize=(min(6 + 0.25 * len(bins), 30), 6))
    top, bottom = figure.subplots(
        2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    top.boxplot([per_bin[k] for k in filled], positions=filled, showfliers=False, widths=0.6)
    top.set_ylabel("absolute error")
    heading = f"Absolute error by true count (bins of {BIN_WIDTH}, open from {BIN_CAP})"
    top.set_title(f"{heading}\n{title}" if title else heading)
    bottom.bar(positions, [values.size for values in per_bin], width=0.6, color="tab:gray")
    bottom.set_ylabel("images")
    bottom.set_xlabel("true count")
    bottom.set_xticks(positions)
    bottom.set_xticklabels(
        [_bin_label(low, high) for low, high in bins],
        rotation=90,
        fontsize=9 if len(bins) <= 20 else 7,
    )
    bottom.set_xlim(-0.5, len(bins) - 0.5)
    return _save(figure, path)


def predicted_vs_true(predicted, true, path, *, mae, rmse, title=None):
    """Scatter predicted against true counts, with the ``y = x`` line and MAE/RMSE in the title."""
    predicted = np.asarray(predicted, dtype=np.float64).reshape(-1)
    true = np.asarray(true, dtype=np.float64).reshape(-1)
    figure = Figure(figsize=(5.5, 5.5))
    axes = figure.subplots()
    high = max(float(true.max()), float(predicted.max()), 1.0) * 1.05
    low = min(float(true.min()), float(predicted.min()), 0.0)
    axes.plot([low, high], [low, high], color="tab:red", linewidth=1, label="y = x")
    axes.scatter(true, predicted, s=14, alpha=0.7)
    axes.set_xlim(low, high)
    axes.set_ylim(low, high)
    axes.set_aspect("equal")
    axes.set_xlabel("true count")
    axes.set_ylabel("predicted count")
    axes.legend(loc="upper left")
    heading = f"MAE {mae:.2f}  RMSE {rmse:.2f}  (n={true.size})"
    axes.set_title(f"{title}\n{heading}" if title else heading)
    return _save(figure, path)


def patch_grids(image_paths, input_shape, n, patch_predictions, true, *, path, limit=10):
    """The first ``limit`` images at the input shape, with their patch grid and patch counts.

    Each panel shows the image as the encoder saw it (resized to ``input_shape``), the
    ``n x n`` patch boundaries (the dropped remainder shaded), each patch's predicted count at its
    centre, and "true X / predicted Y" as title.
    """
    height, width = int(input_shape[0]), int(input_shape[1])
    patch_height, patch_width = height // n, width // n
    shown = min(limit, len(image_paths))
    columns = min(5, shown)
    rows = math.ceil(shown / columns)
    panel_width = 3.2
    panel_height = panel_width * height / width + 0.5
    figure = Figure(figsize=(panel_width * columns, panel_height * rows))
    axes = np.atleast_1d(figure.subplots(rows, columns, squeeze=False)).reshape(-1)
    for k, ax in enumerate(axes):
        ax.set_axis_off()
        if k >= shown:
            continue
        image = decode_image(image_paths[k], (height, width)).numpy()
        ax.imshow(image, extent=(0, width, height, 0), interpolation="nearest")
        for boundary in range(n + 1):
            ax.axhline(boundary * patch_height, color="yellow", linewidth=0.8)
            ax.axvline(boundary * patch_width, color="yellow", linewidth=0.8)
        if n * patch_height < height:
            ax.axhspan(n * patch_height, height, color="black", alpha=0.5)
        if n * patch_width < width:
            ax.axvspan(n * patch_width, width, color="black", alpha=0.5)
        counts = np.asarray(patch_predictions[k], dtype=np.float64).reshape(n, n)
        for row in range(n):
            for col in range(n):
                ax.text(
                    (col + 0.5) * patch_width,
                    (row + 0.5) * patch_height,
                    f"{counts[row, col]:.1f}",
                    ha="center",
                    va="center",
                    fontsize=max(5, 10 - n),
                    color="white",
                    bbox={"facecolor": "black", "alpha": 0.5, "pad": 1, "linewidth": 0},
                )
        ax.set_xlim(0, width)
        ax.set_ylim(height, 0)
        ax.set_title(f"true {float(true[k]):g} / predicted {counts.sum():.1f}", fontsize=9)
    return _save(figure, path)


def encoder_comparison(summary, labels, scatter, path, title=None):
    """A table's results: MAE per predictor (mean ± sd over seeds) and predicted-vs-true.

    Args:
        summary: ``{row: {"mae": {"mean", "sd", "values"}}}`` (the table's summaries).
        labels: ``{row: label}``, the rows to draw, in order.
        scatter: ``{row: (true counts, predicted counts)}`` of one seed, for the right panel.
        path: the new PNG file.
    """
    rows = list(labels)
    figure = Figure(figsize=(12, 4.8))
    bars, points = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.1]})
    colours = [f"C{i}" for i in range(len(rows))]
    for position, (row, colour) in enumerate(zip(rows, colours)):
        entry = summary[row]["mae"]
        bars.bar(position, entry["mean"], color=colour,
                 yerr=entry["sd"] or 0.0, capsize=4)
        bars.text(position, entry["mean"] / 2, f"{entry['mean']:.1f}", ha="center",
                  color="white", fontsize=10, fontweight="bold")
        if len(entry["values"]) > 1:
            bars.scatter([position] * len(entry["values"]), entry["values"], color="black",
                         s=10, zorder=3)
    bars.set_xticks(range(len(rows)), [labels[row].replace(", ", ",\n") for row in rows],
                    fontsize=8)
    bars.set_ylabel("MAE on the benchmark (lower is better)")
    high = 1.0
    for row, colour in zip(rows, colours):
        true, predicted = (np.asarray(v, dtype=np.float64) for v in scatter[row])
        points.scatter(true, predicted, s=10, alpha=0.6, color=colour, label=labels[row])
        high = max(high, float(true.max()), float(predicted.max()))
    points.plot([0, high], [0, high], color="black", linewidth=1, linestyle="--", label="y = x")
    points.set_xlabel("true count")
    points.set_ylabel("predicted count")
    points.legend(fontsize=8, loc="upper left")
    if title:
        figure.suptitle(title, fontsize=10)
    return _save(figure, path)
