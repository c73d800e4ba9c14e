"""Counting one image or one video into a :class:`~syrac.count.count_run.CountRun`.

The counter is any of :mod:`syrac.count.runtimes`; an image is read by the counter's own reader
(TensorFlow's decoders for a Keras counter, as the Count step decodes; Pillow otherwise), a
video's frames by :class:`~syrac.count.video.SampledFrames`, a batch of frames at a time.
"""

import os

import numpy as np

from syrac.common.errors import first_line
from syrac.count import count_figures
from syrac.count.video import SampledFrames

SHEET_FRAMES = 6


def as_unit_float(frames):
    """uint8 RGB frames in [0, 1] float32, scaled as the image reader scales 8-bit images."""
    return np.asarray(frames, np.float32) * np.float32(1.0 / 255.0)


def count_image(path, counter, run, map_stride=None, *, log=print):
    """Count the image at ``path`` and write its figure and thumbnail; a failure is noted."""
    from syrac.common.image_files import image_file_problem

    problem = image_file_problem(path)
    if problem is None:
        try:
            image = counter.read(path)
        except Exception as error:  # noqa: BLE001 (each decoder's own errors: named, not raised)
            problem = first_line(getattr(error, "message", error))
    if problem is not None:
        run.failures.append((path, problem))
        log(f"{path}\tskipped: {problem}")
        return None
    counts, patch_counts = counter(image[np.newaxis])
    total, patches = float(counts[0]), [float(c) for c in patch_counts[0]]
    stem, thumbnail = run.paths_for(path)
    record = {"path": os.path.abspath(path), "count": total, "patch_counts": patches,
              "N": counter.n, "width": int(image.shape[1]), "height": int(image.shape[0]),
              "figure": stem + ".png", "thumbnail": run.write(thumbnail,
                                                              count_figures.thumbnail(image)),
              "model": run.model}
    density = None
    if map_stride is not None:
        from syrac.count.count_map import count_map

        density, windows = count_map(counter.model, image, total, map_stride)
        record.update(map=run.write(stem + ".map.npy", _npy(density)), map_windows=windows)
    title = f"{os.path.basename(path)}: {total:.1f} people (N={counter.n})"
    run.write(record["figure"], count_figures.image_with_grid(image, patches, counter.n, title,
                                                               density))
    run.add_image(record)
    log(f"{path}\t{total:.2f}")
    return record


def _npy(array):
    import io

    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


class _SheetPicker:
    """Keeps a few frames spread over the video for its contact sheet (small copies only)."""

    def __init__(self, duration, size=SHEET_FRAMES):
        self.targets = ([duration * (k + 0.5) / size for k in range(size)]
                        if duration else [0.0] * size)
        self.kept = []

    def offer(self, frame, count, patch_counts):
        if len(self.kept) < len(self.targets) and frame.time >= self.targets[len(self.kept)] - 1e-6:
            self.kept.append((count_figures.small(frame.pixels), frame.time, count, patch_counts))


def count_video(path, counter, run, sampling, *, batch_size=1, log=print):
    """Count the sampled frames of the video at ``path`` and write its plot, contact sheet and
    thumbnail; a video that broke off keeps the frames read before, and is noted as a failure."""
    frames = SampledFrames(path, **sampling)
    typed, path = path, os.path.abspath(path)
    rows, pending, peak = list(run.partial_frames.get(path, [])), [], {"count": -1.0}
    done = {row["frame"]: row for row in rows}  # counted before a kill: not counted again
    sheet = None

    def keep(frame, row):
        nonlocal sheet
        sheet = sheet or _SheetPicker(frames.duration)
        sheet.offer(frame, row["count"], row["patch_counts"])
        if row["count"] > peak["count"]:
            peak.update(row, pixels=count_figures.small(frame.pixels))

    def flush():
        counts, patch_counts = counter(as_unit_float([f.pixels for f in pending]))
        batch = []
        for frame, count, patches in zip(pending, counts, patch_counts):
            batch.append({"frame": frame.index, "time": frame.time, "count": float(count),
                          "patch_counts": [float(c) for c in patches]})
            keep(frame, batch[-1])
        run.add_frames(path, batch)
        rows.extend(batch)
        pending.clear()

    for frame in frames:
        if frame.index in done:
            keep(frame, done[frame.index])
            continue
        pending.append(frame)
        if len(pending) == batch_size:
            flush()
    if pending:
        flush()
    if frames.problem is not None:
        run.failures.append((typed, frames.problem))
        log(f"{typed}\t{'skipped' if not rows else 'broke off'}: {frames.problem}")
    if not rows:
        return None
    stem, thumbnail = run.paths_for(path)
    shown = sheet.kept or [(peak["pixels"], peak["time"], peak["count"], peak["patch_counts"])]
    counts = [r["count"] for r in rows]
    times = [r["time"] for r in rows]
    name = os.path.basename(path)
    record = {
        "path": path, "N": counter.n, "width": frames.width,
        "height": frames.height, "duration": frames.duration, "fps": frames.fps,
        "frames_decoded": frames.decoded, "sampling": sampling,
        "mean": float(np.mean(counts)), "max": peak["count"], "max_time": peak["time"],
        "max_frame": peak["frame"], "problem": frames.problem,
        "plot": run.write(stem + ".count.png", count_figures.count_over_time(
            times, counts, f"{name}: people counted over time (N={counter.n})")),
        "contact_sheet": run.write(stem + ".sheet.png", count_figures.contact_sheet(
            shown, counter.n, f"{name}: {len(shown)} frame(s)")),
        "thumbnail": run.write(thumbnail, count_figures.thumbnail(peak["pixels"])),
        "frames": rows, "model": run.model,
    }
    run.add_video(record)
    log(f"{typed}\tmean {record['mean']:.2f}, max {record['max']:.2f} at "
        f"{count_figures.clock(record['max_time'])} (frame {record['max_frame']}); "
        f"{len(rows)} frame(s) counted")
    return record
