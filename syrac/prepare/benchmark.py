"""The conversion steps shared by every benchmark, in order.

1. Check ``--src`` and the destination (before reading anything large).
2. Let the dataset's converter read the raw download (:mod:`syrac.prepare.items`).
3. Take val from the official split, or carve it from train (:mod:`syrac.prepare.splits`).
4. Read every image's header: unreadable files stop here, sizes and grayscale are noted.
5. Count: the number of head points (JHU-Crowd++: its ``image_labels.txt`` count); points
   outside their image are reported and, with ``--drop_outside``, removed from points and count.
6. Write ``DATA/<name>/annotations.json`` (``meta``, then ``train``, ``val``, ``test``, each
   item ``{"image", "count", "points"}``, a count-less item ``{"image"}`` only) through a
   staging folder, after validating it with the loader of the wrappers
   (:mod:`syrac.prepare.writer`), copying the images first with ``--copy``.
7. Print the notes and the summary table.

Image paths are relative to ``DATA`` (docs/DESIGN.md §3). By default the raw files are referenced in
place: relative to ``DATA`` when the download lies inside ``DATA``, otherwise absolute (the
loaders accept an absolute path that exists). ``--copy`` copies them to
``DATA/<name>/images/<split>/<file name>`` instead, so the dataset folder stands alone.
"""

import os
import shutil

import numpy as np

from syrac.common.annotations import annotations_path, load_count_set
from syrac.common.errors import SyracError, listed
from syrac.common.files import timestamp
from syrac.prepare.folders import require_source
from syrac.prepare.image_facts import read_all_facts
from syrac.prepare.items import SPLITS
from syrac.prepare.outside import outside_mask, outside_report
from syrac.prepare.splits import carve_validation, read_name_list
from syrac.prepare.summary import summary
from syrac.prepare.writer import already_prepared, check_destination, staged_dataset

COPY_FOLDER = "images"
POINT_DECIMALS = 2


def reference_path(image, data_dir):
    """The annotation path of a raw file referenced in place (see the module docstring)."""
    image, data_dir = os.path.abspath(image), os.path.abspath(data_dir)
    if os.path.commonpath([image, data_dir]) == data_dir:
        return os.path.relpath(image, data_dir).replace(os.sep, "/")
    return image


def assign_validation(raw, args):
    """``({split: items}, val record)``: the official val, or one carved from train."""
    if "val" in raw.splits:
        return dict(raw.splits), {"official": True}
    names = read_name_list(args.val_list) if args.val_list else None
    train, val, record = carve_validation(
        raw.splits["train"], args.val_fraction, args.seed, names, args.val_list
    )
    return {"train": train, "val": val, "test": raw.splits["test"]}, record


def _plain(number):
    number = float(number)
    return int(number) if number.is_integer() else number


def count_items(splits, facts, count_from, drop_outside):
    """Count every item and gather what the reports need.

    Returns:
        ``(counted, outside, mismatches)``: ``{split: [(item, count, points), ...]}`` (count and
        points ``None`` for an unlabelled item); ``[(split/name, outside, total), ...]``;
        ``[(split/name, stated, points), ...]`` where the stated count differs from the points.
    """
    counted, outside, mismatches = {}, [], []
    for split, items in splits.items():
        counted[split] = []
        for item in items:
            if item.points is None:
                counted[split].append((item, None, None))
                continue
            image = facts[item.image]
            mask = outside_mask(item.points, image.width, image.height)
            label = f"{split}/{item.name}"
            if mask.any():
                outside.append((label, int(mask.sum()), len(item.points)))
            if item.stated_count is not None and item.stated_count != len(item.points):
                mismatches.append((label, item.stated_count, len(item.points)))
            base = item.stated_count if count_from == "stated" else len(item.points)
            points = item.points
            if drop_outside:
                points = points[~mask]
                base = max(0.0, base - int(mask.sum()))
            counted[split].append((item, _plain(base), points))
    return counted, outside, mismatches


def mismatch_report(mismatches, count_from):
    if not mismatches:
        return []
    rule = "the count is the stated one" if count_from == "stated" else (
        "the count is the number of points"
    )
    return [
        f"{len(mismatches)} image(s) whose ground truth states another count than its number "
        f"of points ({rule}): "
        + listed(f"{name} (stated {_plain(stated)}, {points} points)"
                 for name, stated, points in mismatches)
    ]


def build_document(dataset, description, name, args, src, raw, counted, val_record, outside):
    """The ``annotations.json`` document: ``meta`` first, then the three splits."""
    meta = {
        "dataset": dataset,
        "description": description,
        "prepared_with": "python -m syrac prepare",
        "options": dict(vars(args)),
        "created": timestamp(),
        "source": src,
        "image_paths": (f"copies in {name}/{COPY_FOLDER}/<split>/" if args.copy
                        else "the raw files, referenced in place"),
        "count": ("the dataset's stated count (image_labels.txt)"
                  if raw.count_from == "stated" else "the number of head points"),
        "points": "x, y in pixels as in the raw ground truth (MATLAB files are 1-based), "
                  f"rounded to {POINT_DECIMALS} decimals",
        "splits": {},
        "val": val_record,
        "points_outside": {
            "points": sum(number for _, number, _ in outside),
            "images": {label: number for label, number, _ in outside},
            "dropped": bool(args.drop_outside),
        },
        **raw.meta,
    }
    document = {"meta": meta}
    for split in SPLITS:
        about = {"images": len(counted[split]),
                 "from": raw.sources.get(split, "carved from train (see meta.val)")}
        if split in raw.split_notes:
            about["note"] = raw.split_notes[split]
        meta["splits"][split] = about
        entries = []
        for item, count, points in counted[split]:
            path = (f"{name}/{COPY_FOLDER}/{split}/{item.name}" if args.copy
                    else reference_path(item.image, args.data_dir))
            entry = {"image": path}
            if count is not None:
                entry["count"] = count
                entry["points"] = np.round(points, POINT_DECIMALS).tolist()
            if item.meta:
                entry["meta"] = dict(item.meta)
            entries.append(entry)
        document[split] = entries
    return document


def copy_images(stage, counted):
    """Copy every raw image into the staged ``images/<split>/`` folder."""
    from syrac.common.progress import (
        progress_bar,  # imports Keras: only when there is work to show
    )

    total = sum(len(rows) for rows in counted.values())
    bar, done = progress_bar(total, "copies"), 0
    for split, rows in counted.items():
        names = set()
        for item, _, _ in rows:
            if item.name in names:
                raise SyracError(f"two {split} images are named {item.name}; cannot --copy them")
            names.add(item.name)
            shutil.copyfile(item.image, stage.path(COPY_FOLDER, split, item.name))
            done += 1
            bar.update(done)


def validator(document):
    """Load every non-empty split of the staged annotations as the wrappers will."""
    def validate(data_dir, dataset):
        for split in SPLITS:
            if document[split]:
                load_count_set(data_dir, dataset, split=split, allow_missing_counts=True)
    return validate


def default_out(converter, values):
    """The dataset folder's default name: the converter's ``DEFAULT_OUT`` template (default
    ``"{dataset}"``) filled from ``values``, the parsed options by name."""
    return getattr(converter, "DEFAULT_OUT", "{dataset}").format_map(values)


def prepare_benchmark(converter, dataset, args):
    """Run the steps of the module docstring for ``dataset`` with the parsed ``args``."""
    name = args.out or default_out(converter, {**vars(args), "dataset": dataset})
    src = require_source(args.src)
    folders = (COPY_FOLDER,) if args.copy else ()
    if already_prepared(args.data_dir, name, dict(vars(args))):
        print(f"{os.path.join(args.data_dir, name)} was prepared by this same command; "
              "nothing to do")
        return annotations_path(args.data_dir, name)
    check_destination(args.data_dir, name, args.overwrite, folders)

    raw = converter.read(dataset, src, args)
    for split, items in raw.splits.items():
        if not items:
            raise SyracError(f"{raw.sources[split]}: no {split} images found")
    splits, val_record = assign_validation(raw, args)
    facts = read_all_facts([item.image for items in splits.values() for item in items])
    counted, outside, mismatches = count_items(splits, facts, raw.count_from, args.drop_outside)
    description = converter.DATASETS[dataset]
    document = build_document(dataset, description, name, args, src, raw, counted,
                              val_record, outside)
    with staged_dataset(args.data_dir, name, args.overwrite, folders) as stage:
        if args.copy:
            copy_images(stage, counted)
        stage.commit(document, validator(document))

    for note in raw.notes + mismatch_report(mismatches, raw.count_from) + outside_report(
        outside, args.drop_outside
    ):
        print(f"note: {note}")
    if val_record.get("carved_from"):
        how = (f"listed in {val_record['list_file']}" if "list_file" in val_record else
               f"fraction {val_record['fraction']}, seed {val_record['seed']}")
        print(f"val: {len(splits['val'])} image(s) carved from train ({how}), recorded in "
              "meta.val")
    rows = {
        split: [(count, facts[item.image]) for item, count, _ in counted[split]]
        for split in SPLITS
    }
    print(summary(f"{description} -> {annotations_path(args.data_dir, name)}", rows))
    return annotations_path(args.data_dir, name)
