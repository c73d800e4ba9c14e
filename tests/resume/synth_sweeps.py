"""What the two synthesis kill sweeps share: the unbroken job, the sweep, the comparison."""

from syrac.synth.manifest import PATTERN
from tests.conftest import REPO, assert_same_dataset, start_synth
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


def sweep(tmp_path, arguments):
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
