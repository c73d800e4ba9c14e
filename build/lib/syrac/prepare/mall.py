"""Mall (Chen et al., BMVC 2012): 2000 frames of one surveillance camera.

Raw layout (``--src`` is ``mall_dataset`` or the folder above it)::

    frames/seq_000001.jpg ... seq_002000.jpg
    mall_gt.mat      frame: 1 x 2000 cell of structs with loc (N x 2, x, y); count: 2000 x 1

Count = number of points of ``frame{i}.loc`` (a ``count(i)`` that differs is reported). The
standard split is by frame number: frames 1-800 train, 801-2000 test; val is carved from the
train frames. Consecutive frames are near duplicates, so a val drawn among them is an
optimistic estimate of test error. A ``mall_gt.mat`` with fewer frames (a partial download or a
test fixture) is split by the same frame-number rule.
"""

import os
import re

from syrac.common.errors import SyracError, listed
from syrac.prepare.folders import find_root, list_files, wrong_layout
from syrac.prepare.items import RawDataset, RawItem
from syrac.prepare.matfiles import load_mat, point_array, scalar, struct_field, variable
from syrac.prepare.splits import split_by_number

DATASETS = {"mall": "Mall"}
OFFICIAL_VAL = False
GROUND_TRUTH = "mall_gt.mat"
FRAMES = 2000
LAST_TRAIN_FRAME = 800
FRAME_NAME = re.compile(r"^seq_(\d{6})\.jpg$", re.IGNORECASE)


def _is_root(path):
    return os.path.isfile(os.path.join(path, GROUND_TRUTH)) and os.path.isdir(
        os.path.join(path, "frames")
    )


def frame_name(number):
    return f"seq_{number:06d}.jpg"


def read_ground_truth(path):
    """``[(points, stated count), ...]`` per frame, frame 1 first."""
    document = load_mat(path)
    frames = variable(path, document, "frame")
    counts = variable(path, document, "count")
    if frames.dtype != object:
        raise SyracError(f"{path}: 'frame' must be a cell array of structs with 'loc'")
    frames, counts = frames.reshape(-1), counts.reshape(-1)
    if len(counts) != len(frames):
        raise SyracError(
            f"{path}: 'frame' has {len(frames)} entries but 'count' has {len(counts)}"
        )
    result = []
    for index, frame in enumerate(frames):
        what = f"frame{{{index + 1}}}"
        loc = struct_field(path, frame, "loc", what)
        count = scalar(path, counts[index], f"count({index + 1})")
        result.append((point_array(path, loc, f"{what}.loc"), count))
    return result


def read(dataset, src, args):
    """Read Mall from ``src`` and split it by frame number."""
    root = find_root(src, _is_root)
    if root is None:
        raise wrong_layout(src, DATASETS[dataset], f"{GROUND_TRUTH} and frames/seq_000001.jpg ...")
    truth_path = os.path.join(root, GROUND_TRUTH)
    frames_dir = os.path.join(root, "frames")
    truth = read_ground_truth(truth_path)
    names = list_files(frames_dir, (".jpg",))
    numbers = {}
    for name in names:
        match = FRAME_NAME.match(name)
        if match is None:
            raise SyracError(
                f"{os.path.join(frames_dir, name)}: Mall frames are named seq_000001.jpg ... "
                f"seq_{FRAMES:06d}.jpg"
            )
        numbers[int(match.group(1))] = name
    orphans = sorted(number for number in numbers if not 1 <= number <= len(truth))
    if orphans:
        raise SyracError(
            f"{len(orphans)} frame(s) in {frames_dir} have no ground truth in {truth_path} "
            f"(it has {len(truth)} frames): " + listed(numbers[n] for n in orphans)
        )
    strays = [number for number in range(1, len(truth) + 1) if number not in numbers]
    if strays:
        raise SyracError(
            f"{len(strays)} frame(s) of {truth_path} have no image in {frames_dir}: "
            + listed(frame_name(n) for n in strays)
        )
    numbered = [
        (number, RawItem(numbers[number], os.path.join(frames_dir, numbers[number]),
                         points, count, truth_path))
        for number, (points, count) in enumerate(truth, start=1)
    ]
    train, test = split_by_number(
        numbered, set(range(LAST_TRAIN_FRAME + 1, max(len(truth), LAST_TRAIN_FRAME) + 1))
    )
    notes = []
    if len(truth) != FRAMES:
        notes.append(f"{truth_path} holds {len(truth)} frames; Mall has {FRAMES}")
    return RawDataset(
        splits={"train": train, "test": test},
        sources={"train": f"{frames_dir} (frames 1-{LAST_TRAIN_FRAME})",
                 "test": f"{frames_dir} (frames {LAST_TRAIN_FRAME + 1}-{FRAMES})"},
        notes=notes,
    )
