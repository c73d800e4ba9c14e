"""The table printed at the end of a preparation: what each split holds.

Per split: images, count min / median / max / total, grayscale files and the range of widths and
heights, so that a wrong download (a missing split, counts of zero, odd sizes) shows at once.
"""

import numpy as np


def format_table(header, rows):
    """Plain-text table, the first column left-aligned, the others right-aligned."""
    table = [header] + [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[column]) for row in table) for column in range(len(header))]
    lines = []
    for row in table:
        cells = [row[0].ljust(widths[0])] + [
            cell.rjust(width) for cell, width in zip(row[1:], widths[1:])
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _number(value):
    return f"{value:g}" if value == int(value) else f"{value:.1f}"


def _span(values):
    if not values:
        return "-"
    low, high = min(values), max(values)
    return str(low) if low == high else f"{low}-{high}"


def split_row(split, rows):
    """One table row from ``[(count or None, ImageFacts), ...]`` of a split."""
    counts = [count for count, _ in rows if count is not None]
    unlabelled = len(rows) - len(counts)
    if counts:
        statistics = [_number(min(counts)), _number(float(np.median(counts))),
                      _number(max(counts)), _number(sum(counts))]
    else:
        statistics = ["-"] * 4
    return [
        split,
        len(rows),
        *statistics,
        unlabelled or "",
        sum(facts.grayscale for _, facts in rows),
        _span([facts.width for _, facts in rows]),
        _span([facts.height for _, facts in rows]),
    ]


def summary(title, splits):
    """The summary text.

    Args:
        title: first line, e.g. ``"shanghaitech_a -> DATA/shanghaitech_a/annotations.json"``.
        splits: ``{split: [(count or None, ImageFacts), ...]}`` in display order.
    """
    header = ["split", "images", "min", "median", "max", "total", "no count", "grayscale",
              "width", "height"]
    rows = [split_row(split, rows) for split, rows in splits.items()]
    return title + "\n" + format_table(header, rows)
