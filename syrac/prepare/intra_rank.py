"""Ranking pairs from unlabelled images by nested crops (Liu et al., CVPR 2018).

A crop of an image never holds more people than the region it was cut from. Liu, van de Weijer
and Bagdanov ("Leveraging unlabeled data for crowd counting by learning to rank", CVPR 2018)
pre-train a counting network on exactly this ordering; the SYRAC paper compares against that
pre-training. This module makes such a ranking set from any folder of real images, so ranking
pre-training on real images is possible before a diffusion model is at hand.

Per image and chain (``--chains``): level 0 is the whole image; level ``j+1`` is a crop of level
``j`` scaled by ``--scale`` on both sides (aspect kept), placed at a random position inside it
(``--placement centre``: concentric, like Liu et al.'s crops around one anchor). A chain stops
after ``--levels`` levels, or earlier when a side would fall below ``--min_side`` pixels. Every
(larger, smaller) pair of levels of one chain is a pair, the larger region as source: ``L``
levels give ``L(L-1)/2`` pairs a chain. Liu et al. start from the largest square around an
anchor and use 5 levels at scale 0.75 (our defaults); we start from the whole image, since the
training pipeline resizes without keeping the aspect ratio anyway.

Files: every level, level 0 included, is saved as a JPEG (quality 95) under
``DATA/<name>/crops/<split>/``: re-encoding source and target the same way keeps compression
artefacts from telling them apart. An image and all its crops go to the same split: a seeded
draw of ``--val_fraction`` of the images (at least one) is val, recorded in ``meta.val``.

Pair record: ``{"source_image", "target_image", "info": {"type": "intra_image_crop", "image":
original file, "chain", "source_level", "target_level", "source_box", "target_box"}}`` with
boxes ``[left, top, right, bottom]`` in pixels of the original image.
"""

import dataclasses
import os

import numpy as np
from PIL import Image, UnidentifiedImageError

from syrac.common.annotations import annotations_path, load_ranking_set
from syrac.common.errors import SyracError
from syrac.common.files import timestamp
from syrac.common.numbers import SEED_RANGE, as_seed
from syrac.common.validation_split import draw_validation
from syrac.prepare.folders import IMAGE_SUFFIXES, natural_key
from syrac.prepare.summary import format_table
from syrac.prepare.writer import already_prepared, check_destination, staged_dataset

PAIR_TYPE = "intra_image_crop"
CROPS_FOLDER = "crops"
JPEG_QUALITY = 95
COMMAND_NAME = "intra-rank"


@dataclasses.dataclass
class IntraRankRequest:
    """One ``prepare intra-rank``: its options, under their command-line names (recorded with
    the dataset, so that the same request made again is recognised and not redone).

    The command's parser takes its defaults from here; the results table builds a request
    directly.
    """

    images: list
    data_dir: str
    out: str = "intra_rank"
    levels: int = 5
    scale: float = 0.75
    chains: int = 1
    placement: str = "random"
    min_side: int = 32
    val_fraction: float = 0.1
    seed: int = 0
    overwrite: bool = False
    dataset: str = COMMAND_NAME

    @classmethod
    def from_options(cls, options):
        return cls(**vars(options))

    def check(self, spelled=lambda field: f"--{field}"):
        """Refuse a setting out of range, named as ``spelled(field)`` (the option, or the
        recipe key a table made the request from)."""
        problems = [
            (self.levels < 2, "levels", "at least 2", self.levels),
            (not 0 < self.scale < 1, "scale", "in (0, 1)", self.scale),
            (self.chains < 1, "chains", "a positive integer", self.chains),
            (self.min_side < 1, "min_side", "a positive integer", self.min_side),
            (not 0 <= self.val_fraction < 1, "val_fraction", "in [0, 1)", self.val_fraction),
            (as_seed(self.seed) != self.seed, "seed", SEED_RANGE, self.seed),
        ]
        for failed, field, requirement, value in problems:
            if failed:
                raise SyracError(f"{spelled(field)} must be {requirement}. Received: {value!r}")
        return self


def default_of(field_name):
    """The default of one :class:`IntraRankRequest` option (for the command's parser)."""
    return IntraRankRequest.__dataclass_fields__[field_name].default


def find_images(paths):
    """Image files among ``paths`` (files, or folders searched recursively), in a fixed order."""
    found = []
    for path in paths:
        if os.path.isfile(path):
            found.append(os.path.abspath(path))
        elif os.path.isdir(path):
            for folder, subfolders, names in os.walk(path):
                subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
                found.extend(
                    os.path.abspath(os.path.join(folder, name))
                    for name in sorted(names, key=natural_key)
                    if not name.startswith(".") and name.lower().endswith(IMAGE_SUFFIXES)
                )
        else:
            raise SyracError(f"--images {path}: no such file or directory")
    found = list(dict.fromkeys(found))
    if len(found) < 2:
        raise SyracError(
            f"--images {' '.join(paths)}: found {len(found)} image file(s); at least 2 are "
            "needed (one goes to val)"
        )
    return found


def nested_boxes(width, height, levels, scale, min_side, rng, placement):
    """Boxes ``(left, top, right, bottom)`` of one chain, each inside the one before."""
    boxes = [(0, 0, width, height)]
    while len(boxes) < levels:
        left, top, right, bottom = boxes[-1]
        new_width = int(round((right - left) * scale))
        new_height = int(round((bottom - top) * scale))
        if min(new_width, new_height) < min_side:
            break
        spare_x, spare_y = right - left - new_width, bottom - top - new_height
        if placement == "centre":
            offset_x, offset_y = spare_x // 2, spare_y // 2
        else:
            offset_x = int(rng.integers(0, spare_x + 1))
            offset_y = int(rng.integers(0, spare_y + 1))
        boxes.append((left + offset_x, top + offset_y,
                       left + offset_x + new_width, top + offset_y + new_height))
    return boxes


def open_image(path):
    """Decode an image with Pillow as RGB or grayscale, or fail naming it."""
    try:
        with Image.open(path) as image:
            image.load()
            return image if image.mode in ("RGB", "L") else image.convert("RGB")
    except UnidentifiedImageError:
        raise SyracError(f"{path}: not a readable image file") from None
    except OSError as error:
        raise SyracError(f"{path}: cannot decode the image ({error})") from None


def crop_image(stage, split, base, path, args, index):
    """Save the nested crops of one image; return ``(pairs, crop sizes)``."""
    image = open_image(path)
    rng = np.random.default_rng([args.seed, index])
    chains = [
        nested_boxes(image.width, image.height, args.levels, args.scale, args.min_side, rng,
                     args.placement)
        for _ in range(args.chains)
    ]
    if all(len(boxes) < 2 for boxes in chains):
        return [], []
    relative = f"{stage.name}/{CROPS_FOLDER}/{split}"
    image.save(stage.path(CROPS_FOLDER, split, f"{base}_full.jpg"), quality=JPEG_QUALITY)
    pairs, sizes = [], [image.size]
    for chain, boxes in enumerate(chains):
        files = [f"{relative}/{base}_full.jpg"]
        for level, box in enumerate(boxes[1:], start=1):
            name = f"{base}_c{chain}_l{level}.jpg"
            crop = image.crop(box)
            crop.save(stage.path(CROPS_FOLDER, split, name), quality=JPEG_QUALITY)
            files.append(f"{relative}/{name}")
            sizes.append(crop.size)
        for source in range(len(boxes)):
            for target in range(source + 1, len(boxes)):
                pairs.append({
                    "source_image": files[source],
                    "target_image": files[target],
                    "info": {
                        "type": PAIR_TYPE, "image": path, "chain": chain,
                        "source_level": source, "target_level": target,
                        "source_box": list(boxes[source]), "target_box": list(boxes[target]),
                    },
                })
    return pairs, sizes


def _span(values):
    return f"{min(values)}-{max(values)}" if values else "-"


def prepare_intra_rank(args):
    """``python -m syrac prepare intra-rank``: write the ranking set ``DATA/<out>``.

    Args:
        args: an :class:`IntraRankRequest`.
    """
    args.check()
    if already_prepared(args.data_dir, args.out, dataclasses.asdict(args)):
        print(f"{os.path.join(args.data_dir, args.out)} was prepared by this same command; "
              "nothing to do")
        return annotations_path(args.data_dir, args.out)
    check_destination(args.data_dir, args.out, args.overwrite, (CROPS_FOLDER,))
    images = find_images(args.images)
    val_indices = set(draw_validation(len(images), args.val_fraction, args.seed, at_least_one=True))

    from syrac.common.progress import (
        progress_bar,  # imports Keras: only once the inputs checked out
    )

    document = {"meta": {}, "train": [], "val": []}
    sizes = {"train": [], "val": []}
    counts = {"train": 0, "val": 0}
    skipped = []
    with staged_dataset(args.data_dir, args.out, args.overwrite, (CROPS_FOLDER,)) as stage:
        bar = progress_bar(len(images), "images")
        for index, path in enumerate(images):
            split = "val" if index in val_indices else "train"
            base = f"{index:05d}_{os.path.splitext(os.path.basename(path))[0]}"
            pairs, crop_sizes = crop_image(stage, split, base, path, args, index)
            if not pairs:
                skipped.append(path)
            document[split].extend(pairs)
            sizes[split].extend(crop_sizes)
            counts[split] += 1
            bar.update(index + 1)
        for split in ("train", "val"):
            if not document[split]:
                raise SyracError(
                    f"no {split} image is large enough for one crop (--min_side "
                    f"{args.min_side}, --scale {args.scale}): e.g. {skipped[0]}"
                )
        document["meta"] = {
            "dataset": "intra-rank",
            "prepared_with": "python -m syrac prepare intra-rank",
            "options": vars(args),
            "created": timestamp(),
            "pair_type": PAIR_TYPE,
            "method": "nested crops (Liu et al., CVPR 2018): a crop never holds more people "
                      "than the region it was cut from",
            "val": {"seed": args.seed, "fraction": args.val_fraction,
                    "images": [images[index] for index in sorted(val_indices)]},
            "images": {"train": counts["train"], "val": counts["val"]},
        }
        stage.commit(document, load_ranking_set)

    if skipped:
        print(f"note: {len(skipped)} image(s) too small for one crop, no pairs: "
              + ", ".join(skipped[:5]))
    rows = [
        [split, counts[split], len(sizes[split]), len(document[split]),
         _span([w for w, _ in sizes[split]]), _span([h for _, h in sizes[split]])]
        for split in ("train", "val")
    ]
    print(f"intra-image crop pairs -> {annotations_path(args.data_dir, args.out)}")
    print(format_table(["split", "images", "crops", "pairs", "width", "height"], rows))
    return annotations_path(args.data_dir, args.out)
