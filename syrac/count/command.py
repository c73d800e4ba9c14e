"""``python -m syrac count PATH... --model MODEL [--N 2] [--out DIR]``: count people in any image.

    python -m syrac count photos/ more/*.jpg --model runs/X/best_model_05.keras --N 2

``PATH`` can be image files, folders (searched recursively; files that are not images are left
alone) or glob patterns. ``MODEL`` is an exported counter (``python -m syrac export``) or a
``.keras`` pre-training checkpoint whose probe was fitted (``finetune_wrapper.py``). Each image
is counted as the Count step does (an N x N grid of patches, summed) and printed as one line,
``path<TAB>count``. A run writes, into a new folder ``DIR/<YYYY-mm-dd-HH-MM-SS>/`` (default
``DIR`` = ``counts``), ``counts.csv``, ``counts.json`` (count, per-patch counts, N, model, image
size) and one PNG per image with the grid and each patch's count drawn on it. With ``--map``,
each figure also shows where the count lies (:mod:`syrac.count.count_map`), saved as
``<figure>.map.npy``. A file that cannot be read is named, skipped and listed again at the end,
and the exit status is then 2.
"""

import argparse
import csv
import glob
import io
import os

import numpy as np

from syrac.common.errors import SyracError, listed
from syrac.common.files import timestamp, unique_path, write_atomic, write_json_atomic
from syrac.common.numbers import number, positive_integer
from syrac.common.output_folders import OutputFolder
from syrac.count.count_map import DEFAULT_STRIDE, count_map


def parser(prog):
    result = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0].strip("`"),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    result.add_argument("paths", nargs="+", metavar="PATH",
                        help="image files, folders (recursive) or glob patterns")
    result.add_argument("--model", required=True,
                        help="an exported counter (.keras) or a pre-training checkpoint with its "
                             "fitted probe")
    result.add_argument("--N", type=positive_integer, default=None,
                        help="patches per side (default: the counter's, or 1 for a checkpoint)")
    result.add_argument("--out", default="counts", action=OutputFolder,
                        help="each run writes a new timestamped folder in here (default: counts)")
    result.add_argument("--map", action="store_true",
                        help="also draw where the count lies: overlapping windows of the patch "
                             "size, (4N-3)^2 per image at the default stride; saved as .npy")
    result.add_argument("--map_stride", type=number, default=DEFAULT_STRIDE,
                        help="the windows' step, in patches (default %(default)s)")
    result.add_argument("--quiet", action="store_true", help="no progress bar")
    return result


# A file in a searched folder with one of these names is meant to be an image: when its bytes are
# not one it is a failure, named; any other file that is not an image is passed over.
IMAGE_NAMES = (".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp")


def find_images(patterns):
    """``(paths, failures)``: every image the patterns name, and ``(pattern or file, reason)``
    misses; in a folder, a file named like an image whose bytes are not one is a miss too."""
    from syrac.common.images import sniff_format

    found, failures = [], []
    for pattern in patterns:
        if os.path.isdir(pattern):
            images = []
            for root, directories, names in sorted(os.walk(pattern)):
                directories.sort()
                for name in sorted(names):
                    path = os.path.join(root, name)
                    if name.startswith("."):
                        continue
                    if sniff_format(path):
                        images.append(path)
                    elif name.lower().endswith(IMAGE_NAMES):
                        failures.append((path, "named like an image, but its bytes are not an "
                                               "image this tool reads (JPEG, PNG, GIF, BMP, TIFF)"))
            found += images
            if not images:
                failures.append((pattern, "no image found in this folder"))
        elif os.path.lexists(pattern):
            found.append(pattern)
        elif glob.has_magic(pattern):
            matches = sorted(glob.glob(pattern, recursive=True))
            if not matches:
                failures.append((pattern, "no file matches this pattern"))
            found += [m for m in matches if not os.path.isdir(m)]
        else:
            failures.append((pattern, "no such file or folder"))
    return list(dict.fromkeys(found)), failures


def _draw(image, patch_counts, n, total, path, density=None):
    """The image with its N x N grid, each patch's count, and the total in the title; with
    ``density``, the count map over it (half transparent)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    height, width = image.shape[:2]
    figure = Figure(figsize=(max(4.0, 8.0 * width / max(height, width)),
                             max(3.0, 8.0 * height / max(height, width)) + 0.5))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    axes.imshow(image)
    if density is not None:
        shown = axes.imshow(density, cmap="inferno", alpha=0.55,
                            extent=(0, width, height, 0), interpolation="bilinear")
        figure.colorbar(shown, ax=axes, fraction=0.03, label="people per pixel (map)")
    for k in range(1, n):
        axes.axhline(k * height / n, color="yellow", linewidth=1.5)
        axes.axvline(k * width / n, color="yellow", linewidth=1.5)
    for index, count in enumerate(patch_counts):
        row, col = divmod(index, n)
        axes.text((col + 0.5) * width / n, (row + 0.5) * height / n, f"{count:.1f}",
                  color="white", fontsize=12, ha="center", va="center",
                  bbox={"facecolor": "black", "alpha": 0.6, "pad": 2})
    axes.set_title(f"{os.path.basename(path)}: {total:.1f} people (N={n})")
    axes.set_axis_off()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    return buffer.getvalue()


def count_images(paths, counter, folder, model_path, *, show_progress=True, log=print,
                 map_stride=None):
    """Count each image, write the per-image figures (with the count map when ``map_stride``
    is given), return ``(records, failures)``."""
    import tensorflow as tf

    from syrac.common.images import decode_image, image_file_problem
    from syrac.common.progress import progress_bar

    records, failures = [], []
    bar = progress_bar(len(paths), "images", enabled=show_progress and len(paths) > 1)
    for index, path in enumerate(paths, start=1):
        problem = image_file_problem(path)
        if problem is None:
            try:
                image = decode_image(tf.constant(path)).numpy()
            except (tf.errors.OpError, ValueError, OSError) as error:
                problem = str(getattr(error, "message", error)).strip().splitlines()[0]
        if problem is not None:
            failures.append((path, problem))
            log(f"{path}\tskipped: {problem}")
            bar.update(index)
            continue
        outputs = counter(image[np.newaxis])
        total = float(outputs["count"][0])
        patch_counts = [float(c) for c in outputs["patch_counts"][0]]
        stem = os.path.splitext(os.path.basename(path))[0]
        figure = os.path.join(folder, f"{len(records) + 1:04d}_{stem}.png")
        record = {"path": os.path.abspath(path), "count": total, "patch_counts": patch_counts,
                  "N": counter.n, "width": int(image.shape[1]), "height": int(image.shape[0]),
                  "figure": figure, "model": os.path.abspath(model_path)}
        density = None
        if map_stride is not None:
            density, windows = count_map(counter, image, total, map_stride)
            record.update(map=_save_map(figure[:-len(".png")] + ".map.npy", density),
                          map_windows=windows)
        write_atomic(figure, _draw(image, patch_counts, counter.n, total, path, density))
        records.append(record)
        log(f"{path}\t{total:.2f}")
        bar.update(index)
    return records, failures


def _save_map(path, density):
    buffer = io.BytesIO()
    np.save(buffer, density)
    write_atomic(path, buffer.getvalue())
    return path


def _write_csv(path, records):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["path", "count", "N", "width", "height", "patch_counts", "model"])
    for r in records:
        writer.writerow([r["path"], f"{r['count']:.4f}", r["N"], r["width"], r["height"],
                         " ".join(f"{c:.4f}" for c in r["patch_counts"]), r["model"]])
    write_atomic(path, buffer.getvalue().encode("utf-8"))


def run(args):
    if not 0 < args.map_stride <= 1:
        raise SyracError(f"--map_stride must be in (0, 1] (a share of the patch). "
                         f"Received: {args.map_stride}")
    paths, missing = find_images(args.paths)
    if not paths:
        raise SyracError("no image to count: " + listed(f"{p} ({why})" for p, why in missing))
    from syrac.count.counter import counter_from_model

    counter = counter_from_model(args.model, args.N)
    folder = unique_path(os.path.join(args.out, timestamp()))
    os.makedirs(folder)
    records, failures = count_images(paths, counter, folder, args.model,
                                     show_progress=not args.quiet,
                                     map_stride=args.map_stride if args.map else None)
    failures = missing + failures
    _write_csv(os.path.join(folder, "counts.csv"), records)
    write_json_atomic(os.path.join(folder, "counts.json"), {
        "model": os.path.abspath(args.model), "N": counter.n, "images": records,
        "failed": [{"path": p, "reason": why} for p, why in failures],
    }, sort_keys=False)
    print(f"{len(records)} image(s) counted; results in {folder}")
    if failures:
        raise SyracError(f"{len(failures)} file(s) could not be counted: "
                         + listed(f"{p} ({why})" for p, why in failures))
