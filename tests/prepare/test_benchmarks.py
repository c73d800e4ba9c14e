"""``python -m syrac prepare`` on tiny raw downloads in each benchmark's exact layout.

Every conversion is checked count by count against the ground truth the fixture wrote, and the
split rules (official splits, val carved from train, UCF_CC_50 folds, Mall frame ranges) are
checked name by name.
"""

import json
import os
import shutil

import numpy as np
import pytest
import scipy.io

from syrac.common.annotations import load_count_set, resolve_image_path, split_note
from syrac.common.errors import SyracError
from syrac.prepare import raw_fixtures
from syrac.prepare.command import parser, run
from syrac.prepare.nwpu_crowd import UNLABELLED_TEST_NOTE


def prepare(*argv):
    """Run ``python -m syrac prepare ARGV`` in this process; return the annotations document."""
    path = run(parser("python -m syrac prepare").parse_args([str(arg) for arg in argv]))
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def by_name(entries):
    return {os.path.basename(entry["image"]): entry for entry in entries}


def check_counts(document, expected, count_of=len):
    """Every split's entries hold exactly the expected images, counts and points.

    ``expected`` is ``{split: {name: points}}`` of the *official* splits; val, when carved,
    must come out of train.
    """
    train_names = set(by_name(document["train"])) | set(by_name(document["val"]))
    if "val" not in expected:
        assert train_names == set(expected["train"])
        assert not set(by_name(document["val"])) & set(expected["test"])
    for split in document:
        if split == "meta":
            continue
        for name, entry in by_name(document[split]).items():
            official = split if split in expected else "train"
            points = expected[official][name]
            assert entry["count"] == count_of(points), (split, name)
            np.testing.assert_allclose(np.reshape(entry["points"], (-1, 2)),
                                       np.round(points, 2).reshape(-1, 2))
    for split in expected:
        assert set(by_name(document[split])) <= set(expected[split])


@pytest.fixture()
def dirs(tmp_path):
    """``(raw, data)``: a raw download folder and a data folder, apart from each other."""
    raw, data = tmp_path / "raw", tmp_path / "data"
    raw.mkdir()
    data.mkdir()
    return raw, data


@pytest.mark.parametrize("part_folder, truth_folder", [
    ("part_A", "ground-truth"), ("part_A_final", "ground_truth"),
])
def test_shanghaitech_a_counts_in_both_layout_variants(dirs, part_folder, truth_folder, capsys):
    raw, data = dirs
    expected = raw_fixtures.make_shanghaitech(
        raw / "ShanghaiTech", "A", train=4, test=3, part_folder=part_folder,
        truth_folder=truth_folder,
    )
    # The fixture has the real nesting: a 1x1 cell holding a 1x1 struct (location, number).
    record = scipy.io.loadmat(
        raw / "ShanghaiTech" / part_folder / "test_data" / truth_folder / "GT_IMG_2.mat"
    )["image_info"][0][0][0][0]
    np.testing.assert_allclose(record[0], expected["test"]["IMG_2.jpg"])
    assert record[1][0][0] == len(expected["test"]["IMG_2.jpg"])

    document = prepare("shanghaitech_a", "--src", raw / "ShanghaiTech", "--data_dir", data)
    check_counts(document, expected)
    assert sorted(by_name(document["test"])) == ["IMG_1.jpg", "IMG_2.jpg", "IMG_3.jpg"]
    # Raw files outside DATA are referenced by absolute path, and the loaders resolve them.
    test_items = load_count_set(str(data), "shanghaitech_a", split="test")
    for (path, count), entry in zip(test_items, document["test"]):
        assert os.path.isabs(entry["image"]) and path == entry["image"] and os.path.isfile(path)
        assert count == entry["count"]
    output = capsys.readouterr().out
    assert "ShanghaiTech part A -> " in output
    assert "split  images  min  median  max  total  no count  grayscale  width  height" in output
    # The first image of each split is grayscale; train has 4 images before val is carved.
    rows = {line.split()[0]: line.split() for line in output.splitlines()[-3:]}
    assert rows["test"][1] == "3" and rows["test"][-3] == "1"
    assert int(rows["train"][1]) + int(rows["val"][1]) == 4


def test_shanghaitech_b_from_its_part_folder_with_copies(dirs):
    raw, data = dirs
    expected = raw_fixtures.make_shanghaitech(raw, "B", train=3, test=2)
    raw_fixtures.make_shanghaitech(raw, "A", train=1, test=1)  # part A beside it is ignored
    document = prepare("shanghaitech_b", "--src", raw / "part_B", "--data_dir", data, "--copy",
                       "--out", "sh_b")
    check_counts(document, expected)
    for split in ("train", "val", "test"):
        for entry in document[split]:
            name = os.path.basename(entry["image"])
            assert entry["image"] == f"sh_b/images/{split}/{name}"
            official = "test" if split == "test" else "train"
            original = raw / "part_B" / f"{official}_data" / "images" / name
            assert (data / entry["image"]).read_bytes() == original.read_bytes()
    assert document["meta"]["folders"] == ["images"]
    assert len(load_count_set(str(data), "sh_b", split="train")) == len(document["train"])


def test_ucf_qnrf_counts(dirs):
    raw, data = dirs
    expected = raw_fixtures.make_ucf_qnrf(raw, train=4, test=3)
    raw_fixtures.make_jhu_crowd(raw)  # another download beside it, with train/ and test/ too
    document = prepare("ucf_qnrf", "--src", raw, "--data_dir", data)
    check_counts(document, expected)
    test_source = document["meta"]["splits"]["test"]["from"]
    assert test_source.endswith(os.path.join("UCF-QNRF_ECCV18", "Test"))


def test_jhu_crowd_official_splits_and_stated_counts(dirs, capsys):
    raw, data = dirs
    expected = raw_fixtures.make_jhu_crowd(raw)
    labels = raw / "jhu_crowd_v2.0" / "train" / "image_labels.txt"
    lines = labels.read_text().splitlines()
    first_id, first_count = lines[0].split(",")[:2]
    lines[0] = lines[0].replace(f"{first_id},{first_count},", f"{first_id},{int(first_count) + 3},")
    labels.write_text("\n".join(lines) + "\n")

    document = prepare("jhu_crowd", "--src", raw, "--data_dir", data)

    def stated(points):
        return len(points) + (3 if points is expected["train"][f"{first_id}.jpg"] else 0)

    check_counts(document, expected, count_of=stated)
    for split in ("train", "val", "test"):
        assert set(by_name(document[split])) == set(expected[split])
        distractor = by_name(document[split])[sorted(expected[split])[-1]]
        assert distractor["count"] == 0 and distractor["points"] == []
        assert distractor["meta"]["distractor"] == 1
        for name, entry in by_name(document[split]).items():  # the label line's facts, kept
            number = int(name[:4])
            assert entry["meta"]["weather"] == number % 4
            assert entry["meta"]["scene"] == ("street", "stadium", "mall")[number % 3]
    assert document["meta"]["val"] == {"official": True}
    assert "count" in document["meta"] and "image_labels.txt" in document["meta"]["count"]
    output = capsys.readouterr().out
    assert "1 image(s) whose ground truth states another count" in output
    assert f"train/{first_id}.jpg (stated {int(first_count) + 3}, {first_count} points)" in output


def test_nwpu_crowd_test_images_are_listed_without_counts(dirs, capsys):
    raw, data = dirs
    expected = raw_fixtures.make_nwpu_crowd(raw)
    document = prepare("nwpu_crowd", "--src", raw / "NWPU-Crowd", "--data_dir", data)
    check_counts({key: value for key, value in document.items() if key != "test"},
                 {split: expected[split] for split in ("train", "val")})
    assert set(by_name(document["val"])) == set(expected["val"])
    assert set(by_name(document["test"])) == set(expected["test"])
    assert all(set(entry) == {"image", "meta"} for entry in document["test"])
    for split in ("train", "val", "test"):  # each image keeps its illumination and level
        listed = dict(line.split(" ", 1) for line in
                      (raw / "NWPU-Crowd" / f"{split}.txt").read_text().splitlines())
        for entry in document[split]:
            illumination, level = map(int, listed[os.path.basename(entry["image"])[:4]].split())
            assert entry["meta"] == {"illumination": illumination, "level": level}
    assert document["meta"]["splits"]["test"]["note"] == UNLABELLED_TEST_NOTE
    assert split_note(str(data), "nwpu_crowd", "test") == UNLABELLED_TEST_NOTE
    assert split_note(str(data), "nwpu_crowd", "val") is None

    with pytest.raises(SyracError, match=r"test\[0\] has no 'count'"):
        load_count_set(str(data), "nwpu_crowd", split="test")
    items = load_count_set(str(data), "nwpu_crowd", split="test", allow_missing_counts=True)
    assert [count for _, count in items] == [None, None]
    assert "2 test image(s) have no public labels" in capsys.readouterr().out


@pytest.mark.parametrize("fold", [1, 5])
def test_ucf_cc_50_fold_k_tests_images_10k_minus_9_to_10k(dirs, fold):
    raw, data = dirs
    expected = raw_fixtures.make_ucf_cc_50(raw)
    document = prepare("ucf_cc_50", "--src", raw, "--data_dir", data, "--fold", fold)
    test_numbers = set(range(10 * (fold - 1) + 1, 10 * fold + 1))
    assert {int(name[:-4]) for name in by_name(document["test"])} == test_numbers
    trained = set(by_name(document["train"])) | set(by_name(document["val"]))
    assert {int(name[:-4]) for name in trained} == set(range(1, 51)) - test_numbers
    assert len(document["val"]) == 4  # 10% of the 40 train images
    check_counts(document, {
        "train": {n: p for n, p in expected.items() if int(n[:-4]) not in test_numbers},
        "test": {n: p for n, p in expected.items() if int(n[:-4]) in test_numbers},
    })
    assert document["meta"]["fold"] == fold
    assert os.path.isfile(data / f"ucf_cc_50_fold{fold}" / "annotations.json")


def test_mall_splits_by_frame_number(dirs, capsys):
    raw, data = dirs
    expected = raw_fixtures.make_mall(raw, frames=806)
    document = prepare("mall", "--src", raw, "--data_dir", data)
    number = lambda name: int(name[4:10])  # noqa: E731
    trained = set(by_name(document["train"])) | set(by_name(document["val"]))
    assert {number(name) for name in trained} == set(range(1, 801))
    assert {number(name) for name in by_name(document["test"])} == set(range(801, 807))
    assert len(document["val"]) == 80
    check_counts(document, {
        "train": {n: p for n, p in expected.items() if number(n) <= 800},
        "test": {n: p for n, p in expected.items() if number(n) > 800},
    })
    assert "holds 806 frames; Mall has 2000" in capsys.readouterr().out


def test_val_is_seeded_recorded_and_reusable(dirs):
    raw, data = dirs
    raw_fixtures.make_shanghaitech(raw, "A", train=12, test=2)
    first = prepare("shanghaitech_a", "--src", raw, "--data_dir", data, "--out", "a0",
                    "--val_fraction", "0.25", "--seed", "3")
    again = prepare("shanghaitech_a", "--src", raw, "--data_dir", data, "--out", "a1",
                    "--val_fraction", "0.25", "--seed", "3")
    other = prepare("shanghaitech_a", "--src", raw, "--data_dir", data, "--out", "a2",
                    "--val_fraction", "0.25", "--seed", "4")
    val = sorted(by_name(first["val"]))
    assert len(val) == 3
    assert val == sorted(by_name(again["val"])) != sorted(by_name(other["val"]))
    record = first["meta"]["val"]
    assert record["seed"] == 3 and record["fraction"] == 0.25
    assert sorted(record["images"]) == val
    assert not set(val) & set(by_name(first["train"]))

    listing = data / "val.txt"
    listing.write_text("\n".join(record["images"]) + "\n")
    reused = prepare("shanghaitech_a", "--src", raw, "--data_dir", data, "--out", "a3",
                     "--val_list", listing)
    assert sorted(by_name(reused["val"])) == val
    listing.write_text("IMG_1.jpg\nIMG_99.jpg\n")
    with pytest.raises(SyracError, match=r"val\.txt: 1 name\(s\) are not train images: IMG_99"):
        prepare("shanghaitech_a", "--src", raw, "--data_dir", data, "--out", "a4",
                "--val_list", listing)


def test_paths_are_relative_to_data_dir_when_the_download_lies_inside_it(tmp_path):
    data = tmp_path / "data"
    raw_fixtures.make_ucf_qnrf(data / "downloads", train=2, test=2)
    document = prepare("ucf_qnrf", "--src", data / "downloads", "--data_dir", data)
    for entry in document["train"] + document["test"]:
        assert entry["image"].startswith("downloads/UCF-QNRF_ECCV18/")
    assert len(load_count_set(str(data), "ucf_qnrf", split="test")) == 2


def test_resolve_image_path_keeps_existing_absolute_paths(tmp_path):
    image = tmp_path / "elsewhere.jpg"
    image.write_bytes(b"x")
    assert resolve_image_path("/data", str(image)) == str(image)
    # A leading "/" that does not exist as given is the authors' data-relative convention.
    assert resolve_image_path("/data", "/bench/images/0.jpg") == "/data/bench/images/0.jpg"
    assert resolve_image_path("/data", "bench/0.jpg") == "/data/bench/0.jpg"


def test_points_outside_are_reported_then_dropped_on_request(dirs, capsys):
    raw, data = dirs
    expected = raw_fixtures.make_ucf_qnrf(raw, train=2, test=2)
    folder = raw / "UCF-QNRF_ECCV18" / "Test"
    inside = expected["test"]["img_0001.jpg"]
    raw_fixtures.write_ann_mat(folder / "img_0001_ann.mat",
                               np.vstack([inside, [[-3.0, 5.0], [5.0, 1e4]]]))

    kept = prepare("ucf_qnrf", "--src", raw, "--data_dir", data)
    entry = by_name(kept["test"])["img_0001.jpg"]
    assert entry["count"] == len(inside) + 2 and len(entry["points"]) == len(inside) + 2
    assert kept["meta"]["points_outside"] == {
        "points": 2, "images": {"test/img_0001.jpg": 2}, "dropped": False}
    output = capsys.readouterr().out
    assert (f"2 point(s) outside their image in 1 image(s), kept; pass --drop_outside to drop "
            f"them: test/img_0001.jpg (2 of {len(inside) + 2})") in output

    dropped = prepare("ucf_qnrf", "--src", raw, "--data_dir", data, "--drop_outside",
                      "--overwrite")
    entry = by_name(dropped["test"])["img_0001.jpg"]
    assert entry["count"] == len(inside)
    np.testing.assert_allclose(entry["points"], np.round(inside, 2).reshape(-1, 2))
    assert dropped["meta"]["points_outside"]["dropped"] is True
    assert "dropped (--drop_outside)" in capsys.readouterr().out


def test_overwrite_replaces_copies_and_leaves_no_staging_folder(dirs):
    raw, data = dirs
    raw_fixtures.make_shanghaitech(raw, "B", train=3, test=2)
    prepare("shanghaitech_b", "--src", raw, "--data_dir", data, "--copy")
    stale = data / "shanghaitech_b" / "images" / "test" / "stale.jpg"
    stale.write_bytes(b"an earlier copy")
    (data / "shanghaitech_b" / "notes.txt").write_text("mine")
    document = prepare("shanghaitech_b", "--src", raw, "--data_dir", data, "--copy",
                       "--overwrite")
    assert not stale.exists()  # the whole copy folder was replaced
    assert (data / "shanghaitech_b" / "notes.txt").read_text() == "mine"
    assert len(load_count_set(str(data), "shanghaitech_b", split="test")) == 2
    assert document["meta"]["folders"] == ["images"]
    assert sorted(os.listdir(data)) == ["shanghaitech_b"]
    shutil.rmtree(raw)
    with pytest.raises(SyracError, match="no such directory"):
        prepare("shanghaitech_b", "--src", raw, "--data_dir", data, "--overwrite")
