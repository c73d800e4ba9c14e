"""The pictures ``syrac count`` writes: each image with its grid, a video's count over time, a
video's contact sheet, and the report's thumbnails. Each function returns the file's bytes."""

import io

import numpy as np

from syrac.common.image_files import to_unit_range


def _figure(width_inches, height_inches):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width_inches, height_inches))
    FigureCanvasAgg(figure)
    return figure


def _png(figure, dpi=80):
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


def _draw_grid(axes, height, width, n, patch_counts, *, fontsize=12):
    for k in range(1, n):
        axes.axhline(k * height / n, color="yellow", linewidth=1.5)
        axes.axvline(k * width / n, color="yellow", linewidth=1.5)
    for index, count in enumerate(patch_counts):
        row, col = divmod(index, n)
        axes.text((col + 0.5) * width / n, (row + 0.5) * height / n, f"{count:.1f}",
                  color="white", fontsize=fontsize, ha="center", va="center",
                  bbox={"facecolor": "black", "alpha": 0.6, "pad": 2})


def image_with_grid(image, patch_counts, n, title, density=None):
    """The image with its N x N grid and each patch's count; with ``density``, the count map
    over it (half transparent)."""
    height, width = image.shape[:2]
    figure = _figure(max(4.0, 8.0 * width / max(height, width)),
                     max(3.0, 8.0 * height / max(height, width)) + 0.5)
    axes = figure.add_subplot(1, 1, 1)
    axes.imshow(image)
    if density is not None:
        shown = axes.imshow(density, cmap="inferno", alpha=0.55,
                            extent=(0, width, height, 0), interpolation="bilinear")
        figure.colorbar(shown, ax=axes, fraction=0.03, label="people per pixel (map)")
    _draw_grid(axes, height, width, n, patch_counts)
    axes.set_title(title)
    axes.set_axis_off()
    return _png(figure)


def clock(seconds):
    """``H:MM:SS.s`` (or ``M:SS.s`` under an hour)."""
    minutes, rest = divmod(float(seconds), 60.0)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours}:{minutes:02d}:{rest:04.1f}" if hours else f"{minutes}:{rest:04.1f}"


def count_over_time(times, counts, title):
    """A video's count against time in seconds, its maximum marked."""
    figure = _figure(8.0, 3.2)
    axes = figure.add_subplot(1, 1, 1)
    axes.plot(times, counts, color="tab:blue", linewidth=1.2, marker="." if len(times) < 80 else None)
    peak = int(np.argmax(counts))
    axes.scatter([times[peak]], [counts[peak]], color="tab:red", zorder=3,
                 label=f"max {counts[peak]:.1f} at {clock(times[peak])}")
    axes.axhline(float(np.mean(counts)), color="gray", linestyle="--", linewidth=1,
                 label=f"mean {np.mean(counts):.1f}")
    axes.set_xlabel("time in the video (s)")
    axes.set_ylabel("people counted")
    axes.set_ylim(bottom=0)
    axes.grid(alpha=0.3)
    axes.legend(loc="best", fontsize=9)
    axes.set_title(title)
    return _png(figure)


def contact_sheet(frames, n, title):
    """A few frames side by side, each with its grid, patch counts, time and count;
    ``frames`` is a list of ``(pixels, time, count, patch_counts)``."""
    columns = min(3, len(frames))
    rows = -(-len(frames) // columns)
    height, width = frames[0][0].shape[:2]
    figure = _figure(4.0 * columns, 4.0 * columns * rows * height / (width * columns) + 0.6)
    for position, (pixels, time, count, patch_counts) in enumerate(frames, start=1):
        axes = figure.add_subplot(rows, columns, position)
        axes.imshow(pixels)
        _draw_grid(axes, pixels.shape[0], pixels.shape[1], n, patch_counts, fontsize=8)
        axes.set_title(f"{clock(time)}: {count:.1f}", fontsize=10)
        axes.set_axis_off()
    figure.suptitle(title)
    return _png(figure)


def small(pixels, width=320):
    """``pixels`` (uint8 or [0, 1] float) scaled down to ``width`` pixels wide, as uint8."""
    from PIL import Image

    array = np.asarray(pixels)
    if array.dtype != np.uint8:
        array = np.round(to_unit_range(array) * 255).astype(np.uint8)
    image = Image.fromarray(array)
    if image.width > width:
        image = image.resize((width, max(1, round(image.height * width / image.width))),
                             Image.Resampling.BILINEAR)
    return np.asarray(image)


def thumbnail(pixels, width=240):
    """A JPEG thumbnail of ``pixels``, ``width`` pixels wide at most."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(small(pixels, width)).save(buffer, format="JPEG", quality=82)
    return buffer.getvalue()
