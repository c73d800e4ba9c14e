"""``syrac synth`` (both kinds) killed at any instant and run again ends as the unbroken job:
the same images, one manifest record per image, nothing temporary left.

One image per batch (``--batch-size 1``): an image then goes through the same arithmetic
whatever was made before a kill, so the sweep can ask for identical bytes.
"""


import pytest

from syrac.synth.manifest import PATTERN
from tests.conftest import (
    REPO,
    assert_same_dataset,
    count_arguments,
    removal_arguments,
    start_synth,
)
from tests.kill_sweep import covered_kinds, kill_sweep


def _manifest_lines(folder):
    return [line for path in sorted(folder.glob(PATTERN))
            for line in path.read_text().splitlines()]


def assert_same_job(folder, reference):
    assert_same_dataset(folder, reference)
    lines = _manifest_lines(folder)
    assert len(lines) == len(_manifest_lines(reference))  # one whole record per image
    assert not [p for p in folder.rglob("*") if p.name.endswith(".tmp")]
    for path in reference.rglob("*"):
        if path.suffix in (".jpg", ".png"):
            assert (folder / path.relative_to(reference)).read_bytes() == path.read_bytes(), path


def _sweep(tmp_path, arguments):
    reference_dir, data_dir = tmp_path / "unbroken", tmp_path / "killed"
    unbroken = start_synth(*arguments(reference_dir))
    _, stderr = unbroken.communicate(timeout=600)
    assert unbroken.returncode == 0, stderr[-2000:]
    argv = ["-m", "syrac", "synth", *map(str, arguments(data_dir))]


    kills, last = kill_sweep(argv, lambda: argv, data_dir, cwd=REPO)
    assert last.returncode == 0, last.stderr[-2000:]
    # One manifest record per image: a kill after one of them is certain.
    assert len(kills) >= 2 and any("manifest" in kind for kind in covered_kinds(kills)), kills
    assert_same_job(data_dir / "out", reference_dir / "out")


@pytest.mark.slow
def test_remove_people_killed_after_every_kind_of_write_ends_as_the_unbroken_job(tmp_path, sources, preset):
    _sweep(tmp_path, lambda data_dir: removal_arguments(sources, data_dir, preset, "out",
                                                        "--batch-size", "1"))


@pytest.mark.slow
def test_noisy_counts_killed_after_every_kind_of_write_ends_as_the_unbroken_job(tmp_path, preset):
    _sweep(tmp_path, lambda data_dir: count_arguments(data_dir, preset, "out",
                                                      "--batch-size", "1"))
