"""A sample sheet of a toy world: ranking pairs, noisy-count images and benchmark images.

One PNG, three rows: source/target pairs with their counts, generated images with the count asked
for and the count drawn, benchmark images with their exact count. It is what a reader looks at
first to judge whether the world resembles the task.
"""

import os

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from syrac.common.annotations import annotations_path, resolve_image_path
from syrac.common.files import read_json
from syrac.toy_world.world import BENCH, NOISY, RANK


def _image(data_dir, relative):
    return np.asarray(Image.open(resolve_image_path(data_dir, relative)).convert("RGB"))


def _spread(entries, count, key):
    """``count`` entries spread over the range of ``key`` (smallest to largest)."""
    ordered = sorted(entries, key=key)
    picks = np.linspace(0, len(ordered) - 1, min(count, len(ordered))).round().astype(int)
    return [ordered[i] for i in picks]


def sample_sheet(data_dir, path, columns=6):
    """Draw the sheet of the world in ``data_dir`` to a new PNG at ``path``; return ``path``."""
    pairs = _spread(read_json(annotations_path(data_dir, RANK))["train"], columns // 2,
                    key=lambda pair: pair["info"]["source_count"])
    noisy = _spread(read_json(annotations_path(data_dir, NOISY)), columns,
                    key=lambda entry: entry["count"])
    bench = _spread(read_json(annotations_path(data_dir, BENCH))["test"], columns,
                    key=lambda entry: entry["count"])
    panels = []
    for pair in pairs:
        info = pair["info"]
        panels.append((pair["source_image"], f"source: {info['source_count']}"))
        panels.append((pair["target_image"], f"target: {info['target_count']}"))
    rows = [
        ("ranking pairs\n(people removed)", panels),
        ("noisy counts\n(label = asked)",
         [(e["image"], f"asked {e['count']}, drawn {e['drawn']}") for e in noisy]),
        ("benchmark\n(exact counts)", [(e["image"], f"count {e['count']}") for e in bench]),
    ]
    figure = Figure(figsize=(2.2 * columns, 2.0 * len(rows) + 0.4))
    grid = figure.subplots(len(rows), columns, squeeze=False)
    for row, (heading, items) in enumerate(rows):
        for column in range(columns):
            axes = grid[row][column]
            axes.set_axis_off()
            if column < len(items):
                relative, caption = items[column]
                axes.imshow(_image(data_dir, relative))
                axes.set_title(caption, fontsize=9)
        grid[row][0].text(-0.1, 0.5, heading, transform=grid[row][0].transAxes,
                          rotation=90, va="center", ha="right", fontsize=9)
    figure.suptitle("SYRAC toy world", fontsize=11)
    FigureCanvasAgg(figure)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "xb") as handle:
        figure.savefig(handle, format="png", dpi=90, bbox_inches="tight")
    return path
