"""Bad raw data: one clear message naming the file, a non-zero exit, nothing half-written.

Each case damages a fresh tiny download in one way; the conversion must fail with a
:class:`SyracError` naming the culprit and leave ``DATA`` exactly as it was (no dataset folder,
no staging folder, an earlier ``annotations.json`` untouched).
"""

import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
import scipy.io

from syrac.common.errors import SyracError
from syrac.prepare import raw_fixtures
from syrac.prepare.command import parser, run
from tests.conftest import REPO



def prepare(*argv):
    return run(parser("python -m syrac prepare").parse_args([str(arg) for arg in argv]))


def listing(folder):
    """Every path under ``folder`` with its content, to show nothing changed."""
    found = {}
    for root, _, names in os.walk(folder):
        found[root] = None
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as handle:
                found[path] = handle.read()
    return found


def _sh(raw):
    return raw / "part_A" / "train_data"


def _delete(path):
    os.remove(path)


def _garbage(path):
    with open(path, "wb") as handle:
        handle.write(b"this is not a MATLAB file at all")


def _without_count(path):
    scipy.io.savemat(path, {"frame": scipy.io.loadmat(path)["frame"]})


CASES = {
    "image-without-ground-truth": (
        "shanghaitech_a", lambda raw: _delete(_sh(raw) / "ground-truth" / "GT_IMG_2.mat"),
        r"1 image\(s\) in \S+train_data/images have no ground truth in \S+ground-truth: "
        r"IMG_2\.jpg \(expected GT_IMG_2\.mat\)",
    ),
    "ground-truth-without-image": (
        "shanghaitech_a", lambda raw: _delete(_sh(raw) / "images" / "IMG_3.jpg"),
        r"1 ground-truth file\(s\) in \S+ground-truth have no image in \S+images: GT_IMG_3\.mat",
    ),
    "unreadable-mat": (
        "shanghaitech_a", lambda raw: _garbage(_sh(raw) / "ground-truth" / "GT_IMG_1.mat"),
        r"\S+ground-truth/GT_IMG_1\.mat: unreadable MATLAB file",
    ),
    "mat-without-the-variable": (
        "ucf_qnrf",
        lambda raw: scipy.io.savemat(raw / "UCF-QNRF_ECCV18" / "Test" / "img_0002_ann.mat",
                                     {"points": np.zeros((2, 2))}),
        r"\S+Test/img_0002_ann\.mat: no 'annPoints' variable \(found: points\)",
    ),
    "points-of-the-wrong-shape": (
        "ucf_qnrf",
        lambda raw: scipy.io.savemat(raw / "UCF-QNRF_ECCV18" / "Train" / "img_0001_ann.mat",
                                     {"annPoints": np.zeros((3, 1))}),
        r"img_0001_ann\.mat: annPoints must be an N x 2 array of x, y points\. "
        r"Received: shape \(3, 1\)",
    ),
    "unreadable-image": (
        "ucf_qnrf",
        lambda raw: (raw / "UCF-QNRF_ECCV18" / "Train" / "img_0002.jpg").write_bytes(b"no image"),
        r"\S+Train/img_0002\.jpg: not a readable image file",
    ),
    "wrong-folder": (
        "shanghaitech_b", lambda raw: None,
        r"--src \S+: not a ShanghaiTech part B download: expected part_B/train_data and "
        r"part_B/test_data \(or part_B_final/\.\.\.\); found part_A",
    ),
    "jhu-bad-label-line": (
        "jhu_crowd",
        lambda raw: (raw / "jhu_crowd_v2.0" / "val" / "image_labels.txt").write_text(
            "0004,12,street,0,0\n0005;3\n"),
        r"\S+val/image_labels\.txt: line 2: expected 'id,count,scene,weather,distractor'\. "
        r"Received: '0005;3'",
    ),
    "jhu-image-not-in-labels": (
        "jhu_crowd",
        lambda raw: (raw / "jhu_crowd_v2.0" / "test" / "image_labels.txt").write_text(
            "0006,3,street,0,0\n"),
        r"\S+test/image_labels\.txt: no line for 1 image\(s\) of \S+test/images: 0007\.jpg",
    ),
    "nwpu-listed-image-missing": (
        "nwpu_crowd", lambda raw: _delete(raw / "NWPU-Crowd" / "images" / "0007.jpg"),
        r"\S+NWPU-Crowd/test\.txt: 1 listed image\(s\) are not in \S+images: 0007",
    ),
    "nwpu-train-image-without-json": (
        "nwpu_crowd", lambda raw: _delete(raw / "NWPU-Crowd" / "jsons" / "0002.json"),
        r"1 train image\(s\) in \S+images have no ground truth in \S+jsons: 0002\.jpg "
        r"\(expected 0002\.json\)",
    ),
    "nwpu-malformed-json": (
        "nwpu_crowd",
        lambda raw: (raw / "NWPU-Crowd" / "jsons" / "0004.json").write_text('{"points": [1, '),
        r"\S+jsons/0004\.json: malformed JSON at line 1",
    ),
    "mall-frame-without-ground-truth": (
        "mall",
        lambda raw: raw_fixtures.write_image(
            str(raw / "mall_dataset" / "frames" / "seq_000013.jpg"), 8, 6,
            np.random.default_rng(0)),
        r"1 frame\(s\) in \S+frames have no ground truth in \S+mall_gt\.mat \(it has 12 "
        r"frames\): seq_000013\.jpg",
    ),
    "mall-ground-truth-without-frame": (
        "mall", lambda raw: _delete(raw / "mall_dataset" / "frames" / "seq_000004.jpg"),
        r"1 frame\(s\) of \S+mall_gt\.mat have no image in \S+frames: seq_000004\.jpg",
    ),
    "mall-missing-count": (
        "mall",
        lambda raw: _without_count(raw / "mall_dataset" / "mall_gt.mat"),
        r"\S+mall_gt\.mat: no 'count' variable \(found: frame\)",
    ),
}


def make_download(dataset, raw):
    if dataset in ("shanghaitech_a", "shanghaitech_b"):
        raw_fixtures.make_shanghaitech(raw, "A", train=3, test=2)
    elif dataset == "ucf_qnrf":
        raw_fixtures.make_ucf_qnrf(raw, train=2, test=2)
    elif dataset == "jhu_crowd":
        raw_fixtures.make_jhu_crowd(raw)
    elif dataset == "nwpu_crowd":
        raw_fixtures.make_nwpu_crowd(raw)
    elif dataset == "mall":
        raw_fixtures.make_mall(raw, frames=12)


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_raw_data_is_named_and_nothing_is_written(tmp_path, case):
    dataset, damage, message = CASES[case]
    raw, data = tmp_path / "raw", tmp_path / "data"
    data.mkdir()
    make_download(dataset, raw)
    damage(raw)
    with pytest.raises(SyracError) as error:
        prepare(dataset, "--src", raw, "--data_dir", data)
    assert re.search(message, str(error.value)), str(error.value)
    assert "\n" not in str(error.value)
    assert os.listdir(data) == []


def test_a_failed_overwrite_keeps_the_earlier_dataset(tmp_path):
    raw, data = tmp_path / "raw", tmp_path / "data"
    data.mkdir()
    raw_fixtures.make_shanghaitech(raw, "A", train=3, test=2)
    prepare("shanghaitech_a", "--src", raw, "--data_dir", data, "--copy")
    before = listing(data)

    with pytest.raises(SyracError, match="annotations.json already exists; pass --overwrite"):
        prepare("shanghaitech_a", "--src", raw, "--data_dir", data)
    _garbage(_sh(raw) / "ground-truth" / "GT_IMG_3.mat")
    with pytest.raises(SyracError, match="GT_IMG_3.mat: unreadable MATLAB file"):
        prepare("shanghaitech_a", "--src", raw, "--data_dir", data, "--copy", "--overwrite")
    assert listing(data) == before


def test_the_same_command_again_has_nothing_to_do_and_a_dead_stage_is_removed(tmp_path, capsys):
    raw, data = tmp_path / "raw", tmp_path / "data"
    data.mkdir()
    raw_fixtures.make_shanghaitech(raw, "A", train=2, test=1)
    prepare("shanghaitech_a", "--src", raw, "--data_dir", data, "--copy")
    before = listing(data)
    prepare("shanghaitech_a", "--src", raw, "--data_dir", data, "--copy")
    assert "was prepared by this same command; nothing to do" in capsys.readouterr().out
    assert listing(data) == before
    (data / ".prepare-shanghaitech_a-killed" / "shanghaitech_a").mkdir(parents=True)  # a SIGKILL's
    prepare("shanghaitech_a", "--src", raw, "--data_dir", data, "--copy", "--overwrite")
    assert sorted(os.listdir(data)) == ["shanghaitech_a"]


def test_a_failure_while_copying_leaves_nothing(tmp_path, monkeypatch):
    """Interrupted half-way through the copies (Ctrl-C here): no partial dataset remains."""
    raw, data = tmp_path / "raw", tmp_path / "data"
    data.mkdir()
    raw_fixtures.make_shanghaitech(raw, "B", train=3, test=2)
    copies, copy = [], shutil.copyfile

    def interrupted_copy(source, destination):
        if copies:
            raise KeyboardInterrupt
        copies.append(destination)
        return copy(source, destination)

    monkeypatch.setattr("syrac.prepare.benchmark.shutil.copyfile", interrupted_copy)
    with pytest.raises(KeyboardInterrupt):
        prepare("shanghaitech_b", "--src", raw, "--data_dir", data, "--copy")
    assert copies and os.listdir(data) == []


def test_copy_refuses_to_mix_with_a_folder_it_did_not_write(tmp_path):
    data = tmp_path / "data"
    raw_fixtures.make_nwpu_crowd(data)  # unpacked as DATA/NWPU-Crowd/images, jsons, ...
    options = ["--src", data / "NWPU-Crowd", "--data_dir", data, "--out", "NWPU-Crowd"]
    before = listing(data)
    with pytest.raises(SyracError, match=r"NWPU-Crowd/images exists and was not written by "
                                         r"python -m syrac prepare"):
        prepare("nwpu_crowd", *options, "--copy")
    assert listing(data) == before
    # Referencing the raw files in place is fine, and touches nothing but annotations.json.
    prepare("nwpu_crowd", *options)
    document = json.loads((data / "NWPU-Crowd" / "annotations.json").read_text())
    assert document["train"][0]["image"].startswith("NWPU-Crowd/images/")
    assert {path: content for path, content in listing(data).items()
            if not path.endswith("annotations.json")} == before


@pytest.mark.parametrize("argv, message", [
    (["--out", "../escape"], r"--out must be a plain folder name inside --data_dir"),
    (["--val_fraction", "1.5"], r"--val_fraction must be in \[0, 1\)\. Received: 1\.5"),
])
def test_nonsense_options_are_refused(tmp_path, argv, message):
    raw, data = tmp_path / "raw", tmp_path / "data"
    data.mkdir()
    raw_fixtures.make_shanghaitech(raw, "A", train=2, test=1)
    with pytest.raises(SyracError, match=message):
        prepare("shanghaitech_a", "--src", raw, "--data_dir", data, *argv)
    assert os.listdir(data) == []


@pytest.mark.slow
def test_command_line_exits_2_with_one_line(tmp_path):
    """The real command, as a researcher types it: no traceback, the file named, exit 2."""
    data = tmp_path / "data"
    data.mkdir()
    completed = subprocess.run(
        [sys.executable, "-m", "syrac", "prepare", "ucf_qnrf", "--src", str(tmp_path / "nope"),
         "--data_dir", str(data)],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert completed.returncode == 2
    assert completed.stderr.strip().splitlines() == [
        f"python -m syrac prepare: error: --src {tmp_path / 'nope'}: no such directory"
    ]
