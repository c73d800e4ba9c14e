"""Tiny raw downloads in each benchmark's exact layout, for tests and for trying the converters.

Images are a few dozen pixels of noise; what matters is the layout, the file names and the
ground-truth formats, MATLAB nesting included (written with ``scipy.io.savemat`` so that
``scipy.io.loadmat`` gives back what it gives for the real files). Every ``make_*`` function
returns the expected ground truth, ``{split: {image name: points}}`` (the count is the number of
points), so a test can check a conversion count by count.
"""

import json
import os

import numpy as np
import scipy.io
from PIL import Image


def write_image(path, width, height, rng, grayscale=False):
    """Write a noise JPEG of ``width`` x ``height`` (single-channel when ``grayscale``)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    shape = (height, width) if grayscale else (height, width, 3)
    Image.fromarray(rng.integers(0, 256, size=shape, dtype=np.uint8)).save(path, quality=90)


def random_points(rng, count, width, height):
    """``count`` head points ``x, y`` inside a ``width`` x ``height`` image, 1-based like MATLAB."""
    return np.column_stack([rng.uniform(1, width, count), rng.uniform(1, height, count)])


def write_shanghaitech_mat(path, points):
    """``GT_IMG_i.mat``: ``image_info`` = 1x1 cell holding a 1x1 struct (location, number)."""
    struct = np.empty((1, 1), dtype=[("location", object), ("number", object)])
    struct[0, 0]["location"] = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    struct[0, 0]["number"] = np.array([[float(len(points))]])
    cell = np.empty((1, 1), dtype=object)
    cell[0, 0] = struct
    os.makedirs(os.path.dirname(path), exist_ok=True)
    scipy.io.savemat(path, {"image_info": cell})


def write_ann_mat(path, points):
    """UCF-QNRF / UCF_CC_50 ``*_ann.mat``: ``annPoints`` N x 2."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    scipy.io.savemat(path, {"annPoints": np.asarray(points, dtype=np.float64).reshape(-1, 2)})


def write_mall_mat(path, frame_points, counts=None):
    """``mall_gt.mat``: ``frame`` 1 x K cell of structs with ``loc``; ``count`` K x 1."""
    frames = np.empty((1, len(frame_points)), dtype=object)
    for index, points in enumerate(frame_points):
        struct = np.empty((1, 1), dtype=[("loc", object)])
        struct[0, 0]["loc"] = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        frames[0, index] = struct
    if counts is None:
        counts = [len(points) for points in frame_points]
    scipy.io.savemat(path, {"frame": frames,
                            "count": np.asarray(counts, dtype=np.float64).reshape(-1, 1)})


def _size(rng):
    return int(rng.integers(20, 41)), int(rng.integers(16, 33))


def fixture_count(index, most):
    """A spread of counts in ``0 .. most`` that differs from image to image."""
    return (7 * index + 3) % (most + 1)


def make_shanghaitech(root, part="A", train=3, test=2, part_folder=None,
                      truth_folder="ground-truth", seed=0):
    """``root/part_X/{train,test}_data/images/IMG_i.jpg`` + ``ground-truth/GT_IMG_i.mat``.

    Part A's first image of each split is grayscale, as some of the real ones are.
    """
    rng = np.random.default_rng(seed)
    part_dir = os.path.join(root, part_folder or f"part_{part}")
    expected, index = {}, 0
    for split, size in (("train", train), ("test", test)):
        expected[split] = {}
        folder = os.path.join(part_dir, f"{split}_data")
        for number in range(1, size + 1):
            width, height = _size(rng)
            name = f"IMG_{number}.jpg"
            write_image(os.path.join(folder, "images", name), width, height, rng,
                        grayscale=part == "A" and number == 1)
            index += 1
            points = random_points(rng, fixture_count(index, 12), width, height)
            write_shanghaitech_mat(os.path.join(folder, truth_folder, f"GT_IMG_{number}.mat"),
                                   points)
            expected[split][name] = points
    return expected


def make_ucf_qnrf(root, train=3, test=2, seed=1):
    """``root/UCF-QNRF_ECCV18/{Train,Test}/img_XXXX.jpg`` + ``img_XXXX_ann.mat``."""
    rng = np.random.default_rng(seed)
    expected, index = {}, 0
    for split, folder, size in (("train", "Train", train), ("test", "Test", test)):
        expected[split] = {}
        for number in range(1, size + 1):
            width, height = _size(rng)
            name = f"img_{number:04d}.jpg"
            directory = os.path.join(root, "UCF-QNRF_ECCV18", folder)
            write_image(os.path.join(directory, name), width, height, rng)
            index += 1
            points = random_points(rng, fixture_count(index, 15), width, height)
            write_ann_mat(os.path.join(directory, f"img_{number:04d}_ann.mat"), points)
            expected[split][name] = points
    return expected


def make_ucf_cc_50(root, images=50, seed=2):
    """``root/UCF_CC_50/i.jpg`` + ``i_ann.mat`` for i = 1..images (grayscale, as the real ones).

    Returns ``{image name: points}`` (the split depends on the fold).
    """
    rng = np.random.default_rng(seed)
    folder = os.path.join(root, "UCF_CC_50")
    expected = {}
    for number in range(1, images + 1):
        width, height = 12, 10
        write_image(os.path.join(folder, f"{number}.jpg"), width, height, rng, grayscale=True)
        points = random_points(rng, fixture_count(number, 9), width, height)
        write_ann_mat(os.path.join(folder, f"{number}_ann.mat"), points)
        expected[f"{number}.jpg"] = points
    return expected


def make_jhu_crowd(root, sizes=(("train", 3), ("val", 2), ("test", 2)), seed=3):
    """``root/jhu_crowd_v2.0/{split}/images/XXXX.jpg``, ``gt/XXXX.txt``, ``image_labels.txt``.

    The last image of each split is a distractor: no heads, count 0.
    """
    rng = np.random.default_rng(seed)
    expected, number = {}, 0
    for split, size in sizes:
        folder = os.path.join(root, "jhu_crowd_v2.0", split)
        os.makedirs(os.path.join(folder, "gt"), exist_ok=True)
        expected[split], labels = {}, []
        for index in range(size):
            number += 1
            image_id = f"{number:04d}"
            width, height = _size(rng)
            write_image(os.path.join(folder, "images", f"{image_id}.jpg"), width, height, rng)
            distractor = index == size - 1
            count = 0 if distractor else 1 + fixture_count(number, 9)
            points = np.round(random_points(rng, count, width, height))
            with open(os.path.join(folder, "gt", f"{image_id}.txt"), "w") as handle:
                for x, y in points:
                    handle.write(f"{int(x)} {int(y)} 4 5 0 1\n")
            scene = ("street", "stadium", "mall")[number % 3]
            labels.append(f"{image_id},{count},{scene},{number % 4},{int(distractor)}")
            expected[split][f"{image_id}.jpg"] = points
        with open(os.path.join(folder, "image_labels.txt"), "w") as handle:
            handle.write("\n".join(labels) + "\n")
    return expected


def make_nwpu_crowd(root, sizes=(("train", 3), ("val", 2), ("test", 2)), seed=4):
    """``root/NWPU-Crowd/images/XXXX.jpg``, ``jsons/XXXX.json`` (train and val only),
    ``train.txt``/``val.txt``/``test.txt``. Test images have no json: their labels are not public.

    Returns ``{split: {name: points}}`` with ``None`` for the test images.
    """
    rng = np.random.default_rng(seed)
    folder = os.path.join(root, "NWPU-Crowd")
    os.makedirs(os.path.join(folder, "jsons"), exist_ok=True)
    expected, number = {}, 0
    for split, size in sizes:
        expected[split], lines = {}, []
        for _ in range(size):
            number += 1
            image_id = f"{number:04d}"
            width, height = _size(rng)
            write_image(os.path.join(folder, "images", f"{image_id}.jpg"), width, height, rng)
            lines.append(f"{image_id} {int(rng.integers(0, 4))} {int(rng.integers(0, 5))}")
            if split == "test":
                expected[split][f"{image_id}.jpg"] = None
                continue
            points = random_points(rng, fixture_count(number, 12), width, height)
            with open(os.path.join(folder, "jsons", f"{image_id}.json"), "w") as handle:
                json.dump({"img_id": f"{image_id}.jpg", "human_num": len(points),
                           "points": points.tolist(), "boxes": []}, handle)
            expected[split][f"{image_id}.jpg"] = points
        with open(os.path.join(folder, f"{split}.txt"), "w") as handle:
            handle.write("\n".join(lines) + "\n")
    return expected


def make_mall(root, frames=810, seed=5):
    """``root/mall_dataset/frames/seq_000001.jpg`` ... + ``mall_gt.mat`` for ``frames`` frames.

    Returns ``{frame name: points}``; frames 1-800 are train, the rest test.
    """
    rng = np.random.default_rng(seed)
    folder = os.path.join(root, "mall_dataset")
    expected = {}
    for number in range(1, frames + 1):
        write_image(os.path.join(folder, "frames", f"seq_{number:06d}.jpg"), 8, 6, rng)
        expected[f"seq_{number:06d}.jpg"] = random_points(rng, fixture_count(number, 6), 8, 6)
    write_mall_mat(os.path.join(folder, "mall_gt.mat"), list(expected.values()))
    return expected
