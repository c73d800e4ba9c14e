"""Small synthetic datasets in the real on-disk formats, for tests, CI and the demo.

A "crowd" here is a textured background with bright blobs for people. The three dataset kinds
mimic what SYRAC uses:

- a ranking set whose target is the source with some blobs removed (people removed);
- a noisy count set of images with ``n`` blobs labelled ``n``;
- a benchmark with a ``test`` split of counted images.

Images are written as real JPEG/PNG files with ``annotations.json`` beside them, exactly as
``DATA/<dataset>/`` is laid out for real data.
"""

import json
import os

import numpy as np
import tensorflow as tf


def crowd_image(rng, people, height=48, width=64, background=None):
    """Return a uint8 (H, W, 3) image with ``people`` bright blobs on a textured background."""
    if background is None:
        background = rng.uniform(0.1, 0.4, size=(height, width, 3))
    image = background.copy()
    rows, cols = np.mgrid[0:height, 0:width]
    for _ in range(int(people)):
        row, col = rng.uniform(0, height), rng.uniform(0, width)
        radius = rng.uniform(1.5, 3.0)
        blob = np.exp(-((rows - row) ** 2 + (cols - col) ** 2) / (2 * radius**2))
        image = np.maximum(image, blob[..., None] * rng.uniform(0.7, 1.0, size=3))
    return (np.clip(image, 0, 1) * 255).astype(np.uint8)


def _write(path, image):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if path.endswith(".png"):
        encoded = tf.io.encode_png(image)
    else:
        encoded = tf.io.encode_jpeg(image, quality=95)
    tf.io.write_file(path, encoded)


def _write_annotations(folder, document):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "annotations.json"), "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=1)


def make_ranking_set(data_dir, name="rank", train_pairs=6, val_pairs=2, seed=0, size=(48, 64)):
    """Write a ranking set: each source has 6-12 people, its target the same scene with fewer.

    Pair types alternate between ``"removed"`` and ``"removed_more"`` so ``--filter_classes``
    has something to filter.
    """
    rng = np.random.default_rng(seed)
    document = {}
    for split, count in (("train", train_pairs), ("val", val_pairs)):
        pairs = []
        for index in range(count):
            background = rng.uniform(0.1, 0.4, size=(*size, 3))
            people = int(rng.integers(6, 13))
            kept = int(rng.integers(0, people // 2))
            source = f"{name}/images/{split}_{index}_source.jpg"
            target = f"{name}/images/{split}_{index}_target.png"
            _write(os.path.join(data_dir, source), crowd_image(rng, people, *size, background))
            _write(os.path.join(data_dir, target), crowd_image(rng, kept, *size, background))
            pairs.append(
                {
                    "source_image": source,
                    "target_image": target,
                    "info": {"type": "removed" if index % 2 == 0 else "removed_more"},
                }
            )
        document[split] = pairs
    _write_annotations(os.path.join(data_dir, name), document)
    return os.path.join(data_dir, name, "annotations.json")


def make_count_set(data_dir, name="synth", images=6, seed=1, size=(48, 64), split=None,
                   max_people=20):
    """Write a counted image set: a plain list (``split=None``) or ``{split: [...]}``."""
    rng = np.random.default_rng(seed)
    entries = []
    for index in range(images):
        people = int(rng.integers(0, max_people + 1))
        path = f"{name}/images/{index}.jpg"
        _write(os.path.join(data_dir, path), crowd_image(rng, people, *size))
        entries.append({"image": path, "count": people})
    _write_annotations(os.path.join(data_dir, name), entries if split is None else {split: entries})
    return os.path.join(data_dir, name, "annotations.json")


def crowd_frames(count, seed=0, size=(48, 64), most=12):
    """``count`` uint8 RGB frames of a crowd whose size changes from frame to frame (1 to
    ``most`` people, placed anew in each frame); a generator, so a long video never sits in
    memory."""
    rng = np.random.default_rng(seed)
    background = rng.uniform(0.1, 0.4, size=(*size, 3))
    for index in range(count):
        yield crowd_image(rng, 1 + (index * 7) % most, *size, background=background)


def write_video(path, frames, fps=10, codec="libx264", options=None):
    """Encode ``frames`` (uint8 RGB arrays of one size) into the video file ``path`` with PyAV,
    at ``fps`` frames per second; the container follows the file name (.mp4, .mkv, .webm, ...).
    """
    import av

    with av.open(path, "w") as container:
        stream = None
        for pixels in frames:
            if stream is None:
                stream = container.add_stream(codec, rate=fps, options=options or {})
                stream.height, stream.width = pixels.shape[:2]
                stream.pix_fmt = "yuv420p"
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
