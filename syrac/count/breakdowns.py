"""The official breakdowns of a benchmark's scores, from each image's true count and metadata.

- **Count ranges**, for every benchmark: JHU-Crowd++'s low (0-50 people), medium (51-500) and
  high (above 500), computed from the true counts.
- **NWPU-Crowd**: the scene levels of its image lists (0: no one, 1: 1-100, 2: 101-500,
  3: 501-5000, 4: above 5000) and the 4 illumination classes, each with MAE, RMSE and NAE, and
  the mean of the five level MAEs the online benchmark ranks by.
- **JHU-Crowd++**: weather (0: none, 1: fog or haze, 2: rain, 3: snow), reported as "none" and
  "adverse" (1-3) as its authors do.

Every group holds ``n`` (its images) and, when ``n > 0``, ``mae``, ``rmse``, ``nae`` (None when
all its images are empty) and ``empty_images``; a group without an image has ``n = 0`` and its
metrics None, so that a table shows it empty rather than leaving it out.
"""

import numpy as np

from syrac.count.metrics import count_metrics, json_ready

COUNT_RANGES = (("low (0-50)", 0, 50), ("medium (51-500)", 51, 500),
                ("high (>500)", 501, float("inf")))
NWPU_LEVELS = {0: "level 0 (0)", 1: "level 1 (1-100)", 2: "level 2 (101-500)",
               3: "level 3 (501-5000)", 4: "level 4 (>5000)"}
NWPU_ILLUMINATION = {index: f"illumination {index}" for index in range(4)}
JHU_WEATHER = {"none": (0,), "adverse": (1, 2, 3)}
GROUP_METRICS = ("mae", "rmse", "nae")


def group_scores(predicted, true):
    """``{"n", "mae", "rmse", "nae", "empty_images"}`` of one group (metrics None when empty)."""
    if len(true) == 0:
        return {"n": 0, **{key: None for key in GROUP_METRICS}, "empty_images": 0}
    metrics = json_ready(count_metrics(predicted, true))
    return {"n": metrics["n"], **{key: metrics[key] for key in GROUP_METRICS},
            "empty_images": metrics["empty_images"]}


def _grouped(predicted, true, keys, groups):
    """``{name: group_scores}`` of each ``name: members`` of ``groups`` (images whose key is
    among the members)."""
    keys = np.asarray(keys, dtype=object)
    return {name: group_scores(predicted[np.isin(keys, list(members))],
                               true[np.isin(keys, list(members))])
            for name, members in groups.items()}


def breakdowns(predicted, true, metas=None):
    """Every breakdown that applies: ``count_ranges`` always; ``levels``, ``mean_level_mae``
    and ``illumination`` when every image's meta has NWPU-Crowd's ``level`` and
    ``illumination``; ``weather`` when every image's meta has JHU-Crowd++'s ``weather``.

    Args:
        predicted, true: per-image counts.
        metas: per-image ``meta`` dicts of the annotations (None: no metadata).
    """
    predicted = np.asarray(predicted, dtype=np.float64)
    true = np.asarray(true, dtype=np.float64)
    metas = metas or [{}] * len(true)
    result = {"count_ranges": {
        name: group_scores(predicted[(true >= low) & (true <= high)],
                           true[(true >= low) & (true <= high)])
        for name, low, high in COUNT_RANGES}}
    if metas and all("level" in meta and "illumination" in meta for meta in metas):
        result["levels"] = _grouped(predicted, true, [meta["level"] for meta in metas],
                                    {name: (level,) for level, name in NWPU_LEVELS.items()})
        maes = [group["mae"] for group in result["levels"].values() if group["n"]]
        result["mean_level_mae"] = float(np.mean(maes)) if maes else None
        result["mean_level_mae_over"] = len(maes)
        result["illumination"] = _grouped(
            predicted, true, [meta["illumination"] for meta in metas],
            {name: (index,) for index, name in NWPU_ILLUMINATION.items()})
    if metas and all("weather" in meta for meta in metas):
        result["weather"] = _grouped(predicted, true, [meta["weather"] for meta in metas],
                                     JHU_WEATHER)
    return result
