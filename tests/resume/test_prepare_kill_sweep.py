"""``syrac prepare`` killed at any instant and run again ends as the unbroken run: the dataset
folder with the same files and bytes, no staging folder left in the data folder."""

import json
import subprocess
import sys

import numpy as np
import pytest

from syrac.fixtures import crowd_image
from syrac.prepare import raw_fixtures
from syrac.synth.image_io import write_image
from tests.conftest import REPO
from tests.kill_sweep import kill_sweep


def _tree(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def assert_same_data_folder(folder, reference):
    """Same files with the same bytes; ``annotations.json`` equal but for its timestamp."""
    got, want = _tree(folder), _tree(reference)
    assert sorted(got) == sorted(want)
    for name, data in want.items():
        if name.endswith("annotations.json"):
            first, second = (json.loads(d) for d in (got[name], data))
            first["meta"].pop("created"), second["meta"].pop("created")
            first["meta"]["options"].pop("data_dir"), second["meta"]["options"].pop("data_dir")
            assert first == second
        else:
            assert got[name] == data, name


def _sweep(tmp_path, arguments):
    reference, data = tmp_path / "unbroken", tmp_path / "killed"

    def argv(folder):
        return ["-m", "syrac", "prepare", *map(str, arguments(folder))]

    unbroken = subprocess.run([sys.executable, *argv(reference)], cwd=REPO, capture_output=True,
                              text=True, timeout=600)
    assert unbroken.returncode == 0, unbroken.stderr[-2000:]


    kills, last = kill_sweep(argv(data), lambda: argv(data), data, cwd=REPO,
                             first_delay=0.2, delays=(0.0, 0.01, 0.05))
    assert last.returncode == 0, last.stderr[-2000:]
    assert len(kills) >= 2, kills  # at the start, and after at least one write
    assert_same_data_folder(data, reference)
    return kills


@pytest.mark.slow
def test_prepare_benchmark_killed_after_every_kind_of_write_ends_as_the_unbroken_run(tmp_path):
    raw = tmp_path / "raw"
    raw_fixtures.make_shanghaitech(raw, "A", train=4, test=3)
    kills = _sweep(tmp_path, lambda data: ["shanghaitech_a", "--src", raw, "--data_dir", data,
                                           "--copy"])
    assert any(".prepare-" in kill.last_change for kill in kills)  # killed while staging


@pytest.mark.slow
def test_prepare_intra_rank_killed_after_every_kind_of_write_ends_as_the_unbroken_run(tmp_path):
    images = tmp_path / "images"
    rng = np.random.default_rng(0)
    for index in range(4):
        write_image(str(images / f"scene_{index}.jpg"), crowd_image(rng, 8, 96, 128))
    _sweep(tmp_path, lambda data: ["intra-rank", "--images", images, "--data_dir", data,
                                   "--levels", "3", "--min_side", "16", "--seed", "4"])
