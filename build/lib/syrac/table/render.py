"""The table, written four ways (Markdown, CSV, LaTeX, JSON), every cell naming its files.

Rows are encoders, columns are benchmark x (MAE, RMSE) at the selected N; each value is the mean
over the recipe's seeds (± the sample standard deviation when there are several). Below: the
published results of the literature file, then the full grid over N of the reported split. Our
``rmse`` is what the literature calls "MSE".
"""

import csv
import io
import json
import os

from syrac.common.files import write_atomic
from syrac.table.build import summary
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
                "mae": summary(c.cell["mae"] for c in picked),
                "rmse": summary(c.cell["rmse"] for c in picked),
                "N": sorted({c.n for c in picked}),
                "epochs": [c.epoch for c in picked],
                "seeds": [c.seed for c in picked],
                "sources": [c.cell["file"] for c in picked],
                "selected_on": sorted({f for c in picked for f in c.selected_on}),
                "grid": {n: {"mae": summary(c.grid[n]["mae"] for c in picked),
                             "rmse": summary(c.grid[n]["rmse"] for c in picked),
                             "sources": [c.grid[n]["file"] for c in picked]}
                         for n in recipe.ns},
            }
    return table


def _text(entry, digits=2):
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
        "benchmarks": [b.title for b in recipe.benchmarks],
        "rows": [
            {"encoder": row_name, "benchmark": benchmark, **cell,
             "grid": {str(n): grid for n, grid in cell["grid"].items()}}
            for (row_name, benchmark), cell in cells.items()
        ],
        "literature": published,
    }


def markdown(recipe, document):
    cells = {(r["encoder"], r["benchmark"]): r for r in document["rows"]}
    seeds = document["seeds"]
    lines = [f"# {document['title']}", "",
             f"Selection: {document['rule_note']}. "
             + (f"Columns at N={document['N']}. " if document["N"] else "")
             + f"Mean{' ± sample standard deviation' if len(seeds) > 1 else ''} over seeds "
             f"{seeds}. {RMSE_NOTE}", ""]
    header = "| encoder | " + " | ".join(f"{b} MAE | {b} RMSE" for b in document["benchmarks"])
    lines += [header + " |", "|---" * (1 + 2 * len(document["benchmarks"])) + "|"]
    for row in recipe.encoders:
        values = []
        for benchmark in document["benchmarks"]:
            cell = cells.get((row.name, benchmark))
            note = _n_note(recipe, cell) if cell else ""
            values += [_text(cell and cell["mae"]) + note, _text(cell and cell["rmse"])]
        lines.append(f"| {row.name} | " + " | ".join(values) + " |")
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
              "| encoder | benchmark | " + " | ".join(f"N={n} MAE | N={n} RMSE"
                                                    for n in document["grid_N"]) + " |",
              "|---" * (2 + 2 * len(document["grid_N"])) + "|"]
    for r in document["rows"]:
        values = []
        for n in document["grid_N"]:
            cell = r["grid"][str(n)]
            values += [_text(cell["mae"]), _text(cell["rmse"])]
        lines.append(f"| {r['encoder']} | {r['benchmark']} | " + " | ".join(values) + " |")
    lines += ["", "## Sources", ""]
    for r in document["rows"]:
        epochs = ", ".join("-" if e is None else str(e) for e in r["epochs"])
        lines.append(f"- {r['encoder']} / {r['benchmark']} (seeds {r['seeds']}, epochs {epochs}): "
                     + ", ".join(os.path.relpath(s, os.path.dirname(os.path.dirname(s)))
                                 for s in r["sources"]))
    return "\n".join(lines) + "\n"


def _number(value):
    return "" if value is None else f"{value:g}"


def csv_text(document):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["kind", "encoder", "benchmark", "N", "mae_mean", "mae_sd", "rmse_mean",
                     "rmse_sd", "seeds", "epochs", "selection", "sources"])
    for r in document["rows"]:
        writer.writerow(["ours", r["encoder"], r["benchmark"], "/".join(map(str, r["N"])),
                         r["mae"]["mean"], r["mae"]["sd"], r["rmse"]["mean"], r["rmse"]["sd"],
                         " ".join(map(str, r["seeds"])), " ".join(map(str, r["epochs"])),
                         document["rule"], " ".join(r["sources"])])
    for r in document["rows"]:
        for n, cell in r["grid"].items():
            writer.writerow(["grid", r["encoder"], r["benchmark"], n, cell["mae"]["mean"],
                             cell["mae"]["sd"], cell["rmse"]["mean"], cell["rmse"]["sd"],
                             " ".join(map(str, r["seeds"])), " ".join(map(str, r["epochs"])),
                             document["rule"], " ".join(cell["sources"])])
    for p in document["literature"]:
        writer.writerow(["literature", f"{p['method']} ({p['venue']})", p["dataset"], "",
                         p["mae"], "", p["rmse"], "", "", "", "", p["source"]])
    return out.getvalue()


def latex(recipe, document):
    cells = {(r["encoder"], r["benchmark"]): r for r in document["rows"]}
    columns = "l" + "rr" * len(document["benchmarks"])
    lines = [r"\begin{tabular}{" + columns + "}", r"\toprule",
             "Encoder & " + " & ".join(rf"\multicolumn{{2}}{{c}}{{{_tex(b)}}}"
                                       for b in document["benchmarks"]) + r" \\",
             " & " + " & ".join("MAE & RMSE" for _ in document["benchmarks"]) + r" \\",
             r"\midrule"]
    for row in recipe.encoders:
        values = []
        for benchmark in document["benchmarks"]:
            cell = cells.get((row.name, benchmark))
            values += [_tex(_text(cell and cell["mae"])), _tex(_text(cell and cell["rmse"]))]
        lines.append(_tex(row.name) + " & " + " & ".join(values) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}",
              f"% {document['rule_note']}; seeds {document['seeds']}. {RMSE_NOTE}"]
    return "\n".join(lines) + "\n"


def _tex(text):
    return (text.replace("\\", r"\textbackslash{}").replace("&", r"\&").replace("%", r"\%")
            .replace("_", r"\_").replace("±", r"$\pm$"))


def write_table(recipe, choices, literature, folder):
    """Write ``table.md``, ``.csv``, ``.tex`` and ``.json`` to ``folder``; return the Markdown.

    The four files are made from the cells alone, so they are replaced by each run; the cells
    themselves are never rewritten.
    """
    document = table_document(recipe, choices, literature)
    text = markdown(recipe, document)
    outputs = {"table.md": text, "table.csv": csv_text(document),
               "table.tex": latex(recipe, document),
               "table.json": json.dumps(document, indent=1, allow_nan=False) + "\n"}
    for name, content in outputs.items():
        write_atomic(os.path.join(folder, name), content.encode("utf-8"))
    return text
