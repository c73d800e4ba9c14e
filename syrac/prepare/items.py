"""What a converter hands back: the raw images of each split, with their ground truth.

Converters only read; every check that is the same for all benchmarks (image files, points
outside the image, counts, splits) happens afterwards in :mod:`syrac.prepare.benchmark`.
"""

import dataclasses
from typing import Optional

import numpy as np

SPLITS = ("train", "val", "test")


@dataclasses.dataclass
class RawItem:
    """One raw image and its ground truth.

    Attributes:
        name: the image's file name, unique within its split (``IMG_12.jpg``); copies keep it,
            and the recorded validation list uses it.
        image: absolute path of the raw image file.
        points: ``(N, 2)`` float array of head positions ``x, y`` in pixels, as the raw ground
            truth gives them; ``None`` when the split's labels are not public.
        stated_count: a count the ground truth states besides its points (ShanghaiTech's
            ``number``, NWPU-Crowd's ``human_num``, Mall's ``count``, JHU-Crowd++'s
            ``image_labels.txt``), or ``None``. It is compared with the number of points.
        ground_truth: the file the points came from (kept to trace a conversion back).
        meta: the benchmark's own facts about the image, written as the item's ``meta``
            (NWPU-Crowd's ``illumination`` and ``level``; JHU-Crowd++'s ``scene``, ``weather``
            and ``distractor``): what the official breakdowns of the scores are made from.
    """

    name: str
    image: str
    points: Optional[np.ndarray]
    stated_count: Optional[float] = None
    ground_truth: Optional[str] = None
    meta: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class RawDataset:
    """A converter's reading of one raw download.

    Attributes:
        splits: ``{"train": [RawItem], "test": [RawItem]}``, plus ``"val"`` when the dataset has
            an official validation split (otherwise one is carved from train later).
        sources: where each split came from, e.g. ``{"train": ".../part_A/train_data"}``;
            recorded in ``meta``.
        count_from: ``"points"`` (count = number of head points) or ``"stated"`` (the dataset's
            own count, JHU-Crowd++'s ``image_labels.txt``).
        split_notes: a note per split that cannot be scored, e.g. NWPU-Crowd's test split;
            recorded as ``meta.splits.<split>.note`` and shown when evaluation refuses it.
        notes: remarks printed before the summary (e.g. fewer images than the full dataset).
        meta: dataset-specific facts to record (e.g. the UCF_CC_50 fold).
    """

    splits: dict
    sources: dict
    count_from: str = "points"
    split_notes: dict = dataclasses.field(default_factory=dict)
    notes: list = dataclasses.field(default_factory=list)
    meta: dict = dataclasses.field(default_factory=dict)
