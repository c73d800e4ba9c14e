"""The table, written four ways (Markdown, CSV, LaTeX, JSON), every cell naming its files, and
drawn once per benchmark.

Rows are encoders (and the mean predictor when the recipe has one), columns are benchmark x
(MAE, RMSE, and rank accuracy on held-out pairs when the recipe asks) at the selected N; each
value is the mean over the recipe's seeds (± the sample standard deviation when there are
several). Below: the published results of the literature file, then the full grid over N of the
reported split. Our ``rmse`` is what the literature calls "MSE". ``figure.<benchmark>.png``
shows each row's MAE over seeds beside its predicted-vs-true counts.
"""

import csv
import io
import itertools
import json
import os
import typing

from syrac.common.files import write_atomic
from syrac.count.submission import write_submission
from syrac.table.breakdown import breakdown_files
from syrac.table.build import summary
from syrac.table.cells import cell_metric
from syrac.table.rows import slug
from syrac.table.selection import RULE_NOTES

RMSE_NOTE = ('RMSE is the root mean squared error, which the crowd-counting literature reports '
             'as "MSE" (the authors\' code computed mse without the root).')


def _cells(recipe, choices):
    """``{(row, benchmark): {"mae", "rmse", "N", "epochs", "sources", "grid"}}`` over seeds."""
    table = {}
    for row in recipe.encoders:
        for benchmark in recipe.benchmarks:
            picked = [c for c in choices if c.row == row.name and c.benchmark == benchmark.title]
            if not picked:
                continue
            table[(row.name, benchmark.title)] = {
                **{key: summary(cell_metric(c.cell, key) for c in picked)
                   for key in ("mae", "rmse", "nae", "empty_images_mean_count")},
                "empty_images": sorted({cell_metric(c.cell, "empty_images") for c in picked}),
                **({"rank_accuracy": summary(c.rank["rank_accuracy"] for c in picked),
                    "rank_sources": [c.rank["file"] for c in picked]}
                   if recipe.rank_pairs else {}),
                "N": sorted({c.n for c in picked}),
                "epochs": [c.epoch for c in picked],
                "seeds": [c.seed for c in picked],
                "sources": [c.cell["file"] for c in picked],
                "selected_on": sorted({f for c in picked for f in c.selected_on}),
                "grid": {n: {**{key: summary(cell_metric(c.grid[n], key) for c in picked)
                                for key in ("mae", "rmse", "nae")},
                             "sources": [c.grid[n]["file"] for c in picked]}
                         for n in recipe.ns},
            }
    return table


def _text(entry, digits=2):
    """``mean ± sd`` of a :func:`~syrac.table.build.summary`, or "" for no entry."""
    if entry is None:
        return ""
    text = f"{entry['mean']:.{digits}f}"
    return text + (f" ± {entry['sd']:.{digits}f}" if entry["sd"] is not None else "")


def _n_note(recipe, cell):
    if recipe.rule == "count_val":
        return f" (N={'/'.join(map(str, cell['N']))}, selected on labelled val)"
    return ""


def table_document(recipe, choices, literature):
    """Everything the four files hold, as one JSON-ready document."""
    cells = _cells(recipe, choices)
    published = [
        {"method": p.method, "venue": p.venue, "dataset": p.dataset, "mae": p.mae,
         "rmse": p.rmse, "source": p.source}
        for p in literature
    ]
    return {
        "title": recipe.title, "recipe": os.path.abspath(recipe.path), "rule": recipe.rule,
        "rule_note": RULE_NOTES[recipe.rule], "N": recipe.fixed_n, "grid_N": list(recipe.ns),
        "seeds": list(recipe.seeds), "rmse_note": RMSE_NOTE,
        "rank_note": _rank_note(recipe),
        "columns": [column.title for column in _columns(recipe)],
        "benchmarks": [b.title for b in recipe.benchmarks],
        "rows": [
            {"encoder": row_name, "benchmark": benchmark,
             **cell,
             "grid": {str(n): grid for n, grid in cell["grid"].items()}}
            for (row_name, benchmark), cell in cells.items()
        ],
        "literature": published,
    }


class Column(typing.NamedTuple):
    """A column of the main table: whose cell, which metric, and its headings."""

    benchmark: str   # the cell's benchmark title
    key: str         # "mae", "rmse" or "rank_accuracy"
    title: str       # the Markdown heading
    group: str       # the LaTeX group heading (a benchmark, or the rank accuracy's pairs)
    short: str       # the LaTeX heading under the group
    digits: int


def _columns(recipe):
    """The main table's :class:`Column` list, in order.

    MAE, RMSE and NAE for each benchmark; the rank accuracy once at the end, since the row's epoch
    does not depend on the benchmark, except under ``count_val``, which chooses an epoch per
    benchmark: then once per benchmark, for the epoch chosen there.
    """
    columns = []
    for benchmark in recipe.benchmarks:
        title = benchmark.title
        columns += [Column(title, "mae", f"{title} MAE", title, "MAE", 2),
                    Column(title, "rmse", f"{title} RMSE", title, "RMSE", 2),
                    Column(title, "nae", f"{title} NAE", title, "NAE", 3)]
        if recipe.rank_pairs and recipe.rule == "count_val":
            columns.append(Column(title, "rank_accuracy", f"{title} rank accuracy", title,
                                  "rank acc.", 3))
    if recipe.rank_pairs and recipe.rule != "count_val":
        pairs = " ".join(recipe.rank_pairs)
        columns.append(Column(recipe.benchmarks[0].title, "rank_accuracy",
                              f"rank accuracy ({pairs})", "Rank accuracy", pairs, 3))
    return columns


def _rank_note(recipe):
    if not recipe.rank_pairs:
        return None
    dataset, split = recipe.rank_pairs
    return (f"Rank accuracy: how often a row's probe counts a pair's source above its target, "
            f"on the {split} pairs of {dataset} (a tie counts one half, so the mean predictor "
            "scores 0.5).")


def main_table(recipe, document):
    """The main table's Markdown lines: a row per encoder, the selected N's metrics."""
    cells = {(r["encoder"], r["benchmark"]): r for r in document["rows"]}
    columns = _columns(recipe)
    lines = ["| encoder | " + " | ".join(column.title for column in columns) + " |",
             "|---" * (1 + len(columns)) + "|"]
    for row in recipe.encoders:
        values = []
        for column in columns:
            cell = cells.get((row.name, column.benchmark))
            note = _n_note(recipe, cell) if cell and column.key == "mae" else ""
            values.append(_text(cell and cell[column.key], column.digits) + note)
        lines.append(f"| {row.name} | " + " | ".join(values) + " |")
    return lines


def empty_images_note(recipe, document):
    """What NAE leaves out: each benchmark's images with no one, and the mean count each row
    gave them (the probe has no intercept, so an empty scene still gets a positive count)."""
    parts = []
    for benchmark in document["benchmarks"]:
        rows = [r for r in document["rows"] if r["benchmark"] == benchmark]
        empty = sorted({n for r in rows for n in r.get("empty_images", [])})
        if not empty or empty == [0]:
            parts.append(f"{benchmark}: no image without people")
            continue
        given = ", ".join(f"{r['encoder']} {_text(r.get('empty_images_mean_count'))}"
                          for r in rows)
        parts.append(f"{benchmark}: {'/'.join(map(str, empty))} image(s) without people, left "
                     f"out of NAE as the official scorers do; the mean count each row gave them: "
                     f"{given}")
    return "NAE is the mean of |error| / true count. " + "; ".join(parts) + "."


def markdown(recipe, document):
    seeds = document["seeds"]
    lines = [f"# {document['title']}", "",
             f"Selection: {document['rule_note']}. "
             + (f"Columns at N={document['N']}. " if document["N"] else "")
             + f"Mean{' ± sample standard deviation' if len(seeds) > 1 else ''} over seeds "
             f"{seeds}. {RMSE_NOTE}" + (f" {document['rank_note']}" if document["rank_note"]
                                        else ""), ""]
    lines += main_table(recipe, document)
    lines += ["", empty_images_note(recipe, document)]
    lines += [""] + [f"![{benchmark}]({name})" for benchmark, name in
                     zip(document["benchmarks"], _figure_names(document))]
    header = "| encoder | " + " | ".join(f"{b} MAE | {b} RMSE" for b in document["benchmarks"])
    if document["literature"]:
        lines += ["", "Published unsupervised results (the literature's \"MSE\" in the RMSE "
                      "column; see the sources below):", "",
                  header + " |", "|---" * (1 + 2 * len(document["benchmarks"])) + "|"]
        methods = list(dict.fromkeys((p["method"], p["venue"]) for p in document["literature"]))
        for method, venue in methods:
            own = {p["dataset"]: p for p in document["literature"]
                   if (p["method"], p["venue"]) == (method, venue)}
            values = []
            for benchmark in document["benchmarks"]:
                entry = own.get(benchmark)
                values += [_number(entry and entry["mae"]), _number(entry and entry["rmse"])]
            lines.append(f"| {method} ({venue}) | " + " | ".join(values) + " |")
        sources = sorted({f"{p['method']}: {p['source']}" for p in document["literature"]})
        lines += [""] + [f"- {source}" for source in sources]
    lines += ["", f"## Every N ({', '.join(f'N={n}' for n in document['grid_N'])}), "
                  "the reported split, the selected epoch", "",
              "| encoder | benchmark | " + " | ".join(f"N={n} MAE | N={n} RMSE | N={n} NAE"
                                                    for n in document["grid_N"]) + " |",
              "|---" * (2 + 3 * len(document["grid_N"])) + "|"]
    for r in document["rows"]:
        values = []
        for n in document["grid_N"]:
            cell = r["grid"][str(n)]
            values += [_text(cell["mae"]), _text(cell["rmse"]), _text(cell.get("nae"), 3)]
        lines.append(f"| {r['encoder']} | {r['benchmark']} | " + " | ".join(values) + " |")
    lines += ["", "## Sources", ""]
    for r in document["rows"]:
        epochs = ", ".join("-" if e is None else str(e) for e in r["epochs"])
        files = r["sources"] + r.get("rank_sources", [])
        lines.append(f"- {r['encoder']} / {r['benchmark']} (seeds {r['seeds']}, epochs {epochs}): "
                     + ", ".join(os.path.relpath(s, os.path.dirname(os.path.dirname(s)))
                                 for s in files))
    return "\n".join(lines) + "\n"


def _number(value):
    return "" if value is None else f"{value:g}"


def csv_text(document):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["kind", "encoder", "benchmark", "N", "mae_mean", "mae_sd", "rmse_mean",
                     "rmse_sd", "nae_mean", "nae_sd", "rank_accuracy_mean", "rank_accuracy_sd",
                     "seeds", "epochs", "selection", "sources"])
    blank = {"mean": "", "sd": ""}
    for r in document["rows"]:
        ranked, nae = r.get("rank_accuracy") or blank, r.get("nae") or blank
        writer.writerow(["ours", r["encoder"], r["benchmark"], "/".join(map(str, r["N"])),
                         r["mae"]["mean"], r["mae"]["sd"], r["rmse"]["mean"], r["rmse"]["sd"],
                         nae["mean"], nae["sd"], ranked["mean"], ranked["sd"],
                         " ".join(map(str, r["seeds"])), " ".join(map(str, r["epochs"])),
                         document["rule"], " ".join(r["sources"] + r.get("rank_sources", []))])
    for r in document["rows"]:
        for n, cell in r["grid"].items():
            nae = cell.get("nae") or blank
            writer.writerow(["grid", r["encoder"], r["benchmark"], n, cell["mae"]["mean"],
                             cell["mae"]["sd"], cell["rmse"]["mean"], cell["rmse"]["sd"],
                             nae["mean"], nae["sd"], "", "",
                             " ".join(map(str, r["seeds"])), " ".join(map(str, r["epochs"])),
                             document["rule"], " ".join(cell["sources"])])
    for p in document["literature"]:
        writer.writerow(["literature", f"{p['method']} ({p['venue']})", p["dataset"], "",
                         p["mae"], "", p["rmse"], "", "", "", "", "", "", "", "", p["source"]])
    return out.getvalue()


def latex(recipe, document):
    cells = {(r["encoder"], r["benchmark"]): r for r in document["rows"]}
    columns = _columns(recipe)
    groups = [(group, len(list(members)))
              for group, members in itertools.groupby(column.group for column in columns)]
    lines = [r"\begin{tabular}{l" + "r" * len(columns) + "}", r"\toprule",
             "Encoder & " + " & ".join(rf"\multicolumn{{{width}}}{{c}}{{{_tex(group)}}}"
                                       for group, width in groups) + r" \\",
             " & " + " & ".join(_tex(column.short) for column in columns) + r" \\",
             r"\midrule"]
    for row in recipe.encoders:
        values = []
        for column in columns:
            cell = cells.get((row.name, column.benchmark))
            values.append(_tex(_text(cell and cell[column.key], column.digits)))
        lines.append(_tex(row.name) + " & " + " & ".join(values) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}",
              f"% {document['rule_note']}; seeds {document['seeds']}. {RMSE_NOTE}"]
    return "\n".join(lines) + "\n"


def _tex(text):
    return (text.replace("\\", r"\textbackslash{}").replace("&", r"\&").replace("%", r"\%")
            .replace("_", r"\_").replace("±", r"$\pm$"))


def figure_name(benchmark):
    """The file name of a benchmark's figure in the table's folder."""
    return f"figure.{slug(benchmark)}.png"


def _figure_names(document):
    return [figure_name(benchmark) for benchmark in document["benchmarks"]]


def _figures(recipe, choices, document, folder):
    """Draw ``figure.<benchmark>.png`` per benchmark: each row's MAE over seeds, and its
    predicted-vs-true counts in the last seed (written to a temporary name, then renamed)."""
    from syrac.count.figures import encoder_comparison

    summaries = {(r["encoder"], r["benchmark"]): r for r in document["rows"]}
    last_seed = {(c.row, c.benchmark): c.cell for c in choices}  # choices run seed by seed
    for benchmark, name in zip(document["benchmarks"], _figure_names(document)):
        rows = {row.name: summaries[(row.name, benchmark)] for row in recipe.encoders
                if (row.name, benchmark) in summaries}
        path = os.path.join(folder, name)
        staging = os.path.join(folder, f".{name}.tmp.png")
        if os.path.exists(staging):  # left by a run killed while drawing
            os.remove(staging)
        encoder_comparison(
            {row: {"mae": cell["mae"]} for row, cell in rows.items()},
            {row: row for row in rows},
            {row: (last_seed[(row, benchmark)]["counts"],
                   last_seed[(row, benchmark)]["predictions"]) for row in rows},
            staging, title=f"{document['title']}: {benchmark}")
        os.replace(staging, path)


def write_table(recipe, choices, literature, folder):
    """Write ``table.md``, ``.csv``, ``.tex``, ``.json``, the breakdown table
    (``table.breakdown.md`` / ``.csv`` / ``.json``) and the figures to ``folder``; return the
    Markdown.

    These files are made from the cells alone, so they are replaced by each run; the cells
    themselves are never rewritten.
    """
    document = table_document(recipe, choices, literature)
    text = markdown(recipe, document)
    outputs = {"table.md": text, "table.csv": csv_text(document),
               "table.tex": latex(recipe, document),
               "table.json": json.dumps(document, indent=1, allow_nan=False) + "\n",
               **breakdown_files(recipe, choices)}
    for name, content in outputs.items():
        write_atomic(os.path.join(folder, name), content.encode("utf-8"))
    _figures(recipe, choices, document, folder)
    _submissions(recipe, choices, folder)
    return text


def _submissions(recipe, choices, folder):
    """``nwpu_test.<row>.txt`` (``.seed<s>`` with several seeds) for every row, from the counts
    of NWPU-Crowd's hidden test split at the row's selected epoch and N."""
    for choice in choices:
        if choice.hidden is None:
            continue
        seed = f".seed{choice.seed}" if len(recipe.seeds) > 1 else ""
        write_submission(os.path.join(folder, f"nwpu_test.{slug(choice.row)}{seed}.txt"),
                         choice.hidden["image_paths"], choice.hidden["predictions"])
