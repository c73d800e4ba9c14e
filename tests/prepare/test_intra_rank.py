"""``python -m syrac prepare intra-rank``: ranking pairs of nested crops from unlabelled images."""

import json
import os

import numpy as np
import pytest
from PIL import Image

from syrac.common.annotations import load_ranking_set
from syrac.common.errors import SyracError
from syrac.prepare.command import parser, run
from syrac.prepare.intra_rank import PAIR_TYPE
from syrac.rank.pipeline import validation_pairs

SIZES = {"a.jpg": (120, 90), "b.png": (200, 100), "gray.png": (96, 96),
         "sub/c.jpg": (64, 80), "sub/deeper/d.jpg": (150, 150)}


def prepare(*argv):
    path = run(parser("python -m syrac prepare").parse_args([str(arg) for arg in argv]))
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def smooth_image(width, height, grayscale=False):
    """A smooth pattern, so that JPEG re-encoding changes pixels only a little."""
    x, y = np.meshgrid(np.linspace(0, 1, width), np.linspace(0, 1, height))
    channels = [x, y, 0.5 + 0.5 * np.sin(6 * x + 4 * y)]
    array = (np.stack(channels, axis=-1) * 255).astype(np.uint8)
    return Image.fromarray(array[..., 0] if grayscale else array)


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    folder = tmp_path_factory.mktemp("unlabelled")
    for name, (width, height) in SIZES.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        smooth_image(width, height, grayscale=name.startswith("gray")).save(path, quality=95)
    (folder / "notes.txt").write_text("not an image, skipped")
    return folder


def test_targets_are_nested_crops_of_their_sources(images, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    document = prepare("intra-rank", "--images", images, "--data_dir", data, "--out", "ranks",
                       "--levels", 4, "--scale", 0.7, "--min_side", 16, "--val_fraction", 0.2,
                       "--seed", 1)
    splits = load_ranking_set(str(data), "ranks")  # what train_wrapper.py reads
    assert len(splits["train"]) == len(document["train"])

    by_image = {}
    for split in ("train", "val"):
        for pair in document[split]:
            info = pair["info"]
            assert info["type"] == PAIR_TYPE
            by_image.setdefault(info["image"], set()).add(split)
            (sl, st, sr, sb), (tl, tt, tr, tb) = info["source_box"], info["target_box"]
            assert sl <= tl and st <= tt and tr <= sr and tb <= sb
            assert (tr - tl) * (tb - tt) < (sr - sl) * (sb - st)
            assert info["source_level"] < info["target_level"]
            for key, box in (("source_image", info["source_box"]),
                             ("target_image", info["target_box"])):
                assert pair[key].startswith(f"ranks/crops/{split}/")
                with Image.open(data / pair[key]) as crop:
                    assert crop.size == (box[2] - box[0], box[3] - box[1])
    # Every image is used, and all its crops stay in one split; one image of five is val.
    assert len(by_image) == len(SIZES) and all(len(s) == 1 for s in by_image.values())
    val_images = [image for image, s in by_image.items() if s == {"val"}]
    assert document["meta"]["val"]["images"] == val_images and len(val_images) == 1
    # Four levels (whole image + 3 crops) give 6 pairs an image.
    pairs = [p for split in ("train", "val") for p in document[split]]
    for image in by_image:
        assert sum(p["info"]["image"] == image for p in pairs) == 6

    # A crop file holds the pixels of its box in the original image (up to JPEG error).
    pair = next(p for p in pairs if p["info"]["image"].endswith("d.jpg")
                and p["info"]["target_level"] == 3)
    with Image.open(pair["info"]["image"]) as original:
        expected = np.asarray(original.convert("RGB").crop(pair["info"]["target_box"]), float)
    with Image.open(data / pair["target_image"]) as crop:
        assert np.abs(np.asarray(crop.convert("RGB"), float) - expected).mean() < 4

    (source, target), label, weight = next(iter(validation_pairs(splits["val"], (32, 48, 3), 2)))
    assert source.shape == target.shape == (2, 32, 48, 3) and np.all(label.numpy() == 1)
    assert weight.numpy().tolist() == [1.0, 1.0]


def test_crops_are_seeded_and_centre_placement_is_concentric(images, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    options = ["--images", images / "a.jpg", images / "b.png", "--data_dir", data,
               "--levels", 3, "--min_side", 8]

    def boxes(document):
        return [p["info"]["target_box"] for split in ("train", "val") for p in document[split]]

    first = prepare("intra-rank", *options, "--out", "r1", "--seed", 5)
    again = prepare("intra-rank", *options, "--out", "r2", "--seed", 5)
    other = prepare("intra-rank", *options, "--out", "r3", "--seed", 6)
    assert boxes(first) == boxes(again) != boxes(other)

    centred = prepare("intra-rank", *options, "--out", "r4", "--placement", "centre",
                      "--chains", 2)
    for split in ("train", "val"):
        for pair in centred[split]:
            info = pair["info"]
            if info["target_level"] != info["source_level"] + 1:
                continue  # rounding to whole pixels adds up over several levels
            (sl, st, sr, sb), (tl, tt, tr, tb) = info["source_box"], info["target_box"]
            assert abs((tl - sl) - (sr - tr)) <= 1 and abs((tt - st) - (sb - tb)) <= 1
    assert len(centred["train"]) + len(centred["val"]) == 2 * 2 * 3  # images x chains x pairs


def test_a_chain_stops_before_crops_get_too_small(images, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    document = prepare("intra-rank", "--images", images / "sub", "--data_dir", data,
                       "--levels", 6, "--scale", 0.5, "--min_side", 20)
    for split in ("train", "val"):
        for pair in document[split]:
            left, top, right, bottom = pair["info"]["target_box"]
            assert min(right - left, bottom - top) >= 20
    levels = {os.path.basename(p["info"]["image"]): p["info"]["target_level"]
              for split in ("train", "val") for p in document[split]}
    # c.jpg: 64x80 -> 32x40 -> stop (16 < 20); d.jpg: 150 -> 75 -> 38 -> stop (19 < 20).
    assert levels == {"c.jpg": 1, "d.jpg": 2}


@pytest.mark.parametrize("setup, argv, message", [
    (lambda folder: None, ["--images", "ONE"], r"found 1 image file\(s\); at least 2 are needed"),
    (lambda folder: (folder / "bad.jpg").write_bytes(b"not a jpeg"), ["--images", "FOLDER"],
     r"bad\.jpg: not a readable image file"),
    (lambda folder: None, ["--images", "MISSING"], r"--images \S+missing: no such file"),
    (lambda folder: None, ["--images", "FOLDER", "--levels", "1"], r"--levels must be at least 2"),
    (lambda folder: (folder / "ranks").mkdir() or (folder / "ranks" / "annotations.json")
     .write_text("{}"), ["--images", "FOLDER", "--data_dir", "FOLDER"],
     r"ranks/annotations\.json already exists; pass --overwrite"),
])
def test_bad_input_is_refused_and_nothing_is_written(images, tmp_path, setup, argv, message):
    folder = tmp_path / "input"
    folder.mkdir()
    for name in ("a.jpg", "b.png"):
        (folder / name).write_bytes((images / name).read_bytes())
    setup(folder)
    data = tmp_path / "data"
    data.mkdir()
    replace = {"ONE": folder / "a.jpg", "FOLDER": folder, "MISSING": tmp_path / "missing"}
    argv = [str(replace.get(arg, arg)) for arg in argv]
    if "--data_dir" not in argv:
        argv += ["--data_dir", str(data)]
    before = sorted(os.listdir(folder))
    with pytest.raises(SyracError, match=message):
        prepare("intra-rank", *argv, "--out", "ranks")
    assert os.listdir(data) == [] and sorted(os.listdir(folder)) == before
