"""The second table: each benchmark's scores broken down the way its owners break them down.

``table.breakdown.md`` / ``.csv`` / ``.json`` hold, per benchmark and per breakdown (JHU-Crowd++'s
count ranges for every benchmark; NWPU-Crowd's scene levels, with the mean of the level MAEs,
and its illumination classes; JHU-Crowd++'s weather), each row's MAE, RMSE and NAE per group,
mean over seeds, with the number of images in the group and the cell files it came from. The
groups and their figures come from :mod:`syrac.count.breakdowns`, stored in each cell; a cell
written before breakdowns existed gives the count ranges from its own per-image counts.
"""

import csv
import io
import json
import os

from syrac.count.breakdowns import GROUP_METRICS
from syrac.table.build import summary
from syrac.table.cells import cell_metric

KINDS = {"count_ranges": "count ranges (JHU-Crowd++'s low, medium, high)",
         "levels": "scene levels (NWPU-Crowd)", "illumination": "illumination (NWPU-Crowd)",
         "weather": "weather (JHU-Crowd++: none, or fog/haze, rain, snow)"}


def _row_breakdown(picked):
    """``{kind: {"groups": {group: {"n", metric: summary}}, ...}}`` of one row over seeds."""
    per_seed = [cell_metric(choice.cell, "breakdown") for choice in picked]
    result = {}
    for kind in KINDS:
        if not all(kind in seed for seed in per_seed):
            continue
        groups = {}
        for group in per_seed[0][kind]:
            groups[group] = {"n": per_seed[0][kind][group]["n"],
                             **{metric: summary(seed[kind][group][metric] for seed in per_seed)
                                for metric in GROUP_METRICS}}
        result[kind] = {"groups": groups}
        if kind == "levels":
            result[kind]["mean_level_mae"] = summary(seed["mean_level_mae"] for seed in per_seed)
    return result


def breakdown_document(recipe, choices):
    """``{"benchmarks": [{"benchmark", "kinds": {kind: {row: ...}}, "sources": {row: [...]}}]}``."""
    benchmarks = []
    for benchmark in recipe.benchmarks:
        kinds, sources = {}, {}
        for row in recipe.encoders:
            picked = [c for c in choices if c.row == row.name and c.benchmark == benchmark.title]
            if not picked:
                continue
            sources[row.name] = [c.cell["file"] for c in picked]
            for kind, scores in _row_breakdown(picked).items():
                kinds.setdefault(kind, {})[row.name] = scores
        benchmarks.append({"benchmark": benchmark.title, "kinds": kinds, "sources": sources})
    return {"title": recipe.title, "seeds": list(recipe.seeds), "benchmarks": benchmarks}


def _text(entry, digits):
    if entry is None:
        return ""
    text = f"{entry['mean']:.{digits}f}"
    return text + (f" ± {entry['sd']:.{digits}f}" if entry["sd"] is not None else "")


def breakdown_markdown(document):
    lines = [f"# {document['title']}: the official breakdowns", "",
             f"Mean over seeds {document['seeds']} at each row's selected epoch and N. NAE leaves "
             "out images with no one; an empty cell is a group without an image (or, for NAE, "
             "with only empty ones).", ""]
    for entry in document["benchmarks"]:
        for kind, rows in entry["kinds"].items():
            groups = list(next(iter(rows.values()))["groups"])
            extra = ["mean of level MAEs"] if kind == "levels" else []
            lines += [f"## {entry['benchmark']}: {KINDS[kind]}", "",
                      "| encoder | " + " | ".join(f"{g} {m.upper()}" for g in groups
                                                   for m in GROUP_METRICS)
                      + "".join(f" | {name}" for name in extra) + " |",
                      "|---" * (1 + len(groups) * len(GROUP_METRICS) + len(extra)) + "|"]
            first = next(iter(rows.values()))["groups"]
            lines.append("| images | " + " | ".join(str(first[g]["n"]) for g in groups
                                                     for _ in GROUP_METRICS)
                         + "".join(" | " for _ in extra) + " |")
            for row, scores in rows.items():
                values = [_text(scores["groups"][g][m], 3 if m == "nae" else 2)
                          for g in groups for m in GROUP_METRICS]
                if kind == "levels":
                    values.append(_text(scores["mean_level_mae"], 2))
                lines.append(f"| {row} | " + " | ".join(values) + " |")
            lines.append("")
        lines += [f"Sources ({entry['benchmark']}):", ""]
        lines += [f"- {row}: " + ", ".join(os.path.relpath(s, os.path.dirname(os.path.dirname(s)))
                                           for s in files)
                  for row, files in entry["sources"].items()]
        lines.append("")
    return "\n".join(lines)


def breakdown_csv(document):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["benchmark", "breakdown", "group", "encoder", "images",
                     *[f"{m}_{part}" for m in GROUP_METRICS for part in ("mean", "sd")],
                     "sources"])
    for entry in document["benchmarks"]:
        for kind, rows in entry["kinds"].items():
            for row, scores in rows.items():
                for group, figures in scores["groups"].items():
                    values = []
                    for metric in GROUP_METRICS:
                        cell = figures[metric] or {"mean": "", "sd": ""}
                        values += [cell["mean"], cell["sd"]]
                    writer.writerow([entry["benchmark"], kind, group, row, figures["n"],
                                     *values, " ".join(entry["sources"][row])])
    return out.getvalue()


def breakdown_files(recipe, choices):
    """``{file name: text}`` of the breakdown table in Markdown, CSV and JSON."""
    document = breakdown_document(recipe, choices)
    return {"table.breakdown.md": breakdown_markdown(document),
            "table.breakdown.csv": breakdown_csv(document),
            "table.breakdown.json": json.dumps(document, indent=1, allow_nan=False) + "\n"}
