"""The demo's comparison table: several encoders, one probe recipe, one test set, several seeds.

Each row is a predictor (an encoder + its probe, or the mean count); each column a metric
(MAE, RMSE, rank accuracy on held-out pairs). With several seeds a cell reads ``mean ± spread``,
where the spread is the sample standard deviation over the seeds.
"""

import math

import numpy as np

COLUMNS = (("mae", "MAE"), ("rmse", "RMSE"), ("rank_accuracy", "rank accuracy"))


def rank_accuracy(source_scores, target_scores):
    """Fraction of pairs whose source scores higher than its target (a tie counts one half)."""
    source = np.asarray(source_scores, dtype=np.float64)
    target = np.asarray(target_scores, dtype=np.float64)
    if source.shape != target.shape or source.size == 0:
        raise ValueError(f"need equal, non-empty score lists; got {source.shape} and "
                         f"{target.shape}")
    return float(np.mean((source > target) + 0.5 * (source == target)))


def summarise(per_seed):
    """``{row: [metrics of seed 1, ...]}`` -> ``{row: {metric: {"mean", "spread", "n"}}}``."""
    summary = {}
    for row, runs in per_seed.items():
        summary[row] = {}
        for key, _ in COLUMNS:
            values = [run[key] for run in runs if run.get(key) is not None]
            if not values:
                continue
            spread = float(np.std(values, ddof=1)) if len(values) > 1 else None
            summary[row][key] = {"mean": float(np.mean(values)), "spread": spread,
                                 "n": len(values), "values": values}
    return summary


def _cell(entry, key):
    if entry is None:
        return "n/a"
    digits = 3 if key == "rank_accuracy" else 2
    text = f"{entry['mean']:.{digits}f}"
    if entry["spread"] is not None and not math.isnan(entry["spread"]):
        text += f" ± {entry['spread']:.{digits}f}"
    return text


def markdown_table(summary, labels):
    """A Markdown table of :func:`summarise`'s output, rows in ``labels`` order."""
    header = "| predictor | " + " | ".join(title for _, title in COLUMNS) + " |"
    lines = [header, "|" + "---|" * (len(COLUMNS) + 1)]
    for row, label in labels.items():
        if row not in summary:
            continue
        cells = [_cell(summary[row].get(key), key) for key, _ in COLUMNS]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
