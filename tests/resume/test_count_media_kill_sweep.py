"""``syrac count`` on images and a video, killed at any instant and run again with the same
command, ends as one uninterrupted run: the same files, the same counts, nothing counted twice,
and no journal left behind."""

import json
import re
import signal
import subprocess
import sys
import time

import pytest

from syrac.count.count_run import JOURNAL
from syrac.fixtures import crowd_frames, write_video
from tests.conftest import REPO, crowd_pngs
from tests.kill_sweep import covered_kinds, kill_sweep


def _command(photos, model, out):
    return ["-m", "syrac", "count", str(photos), "--model", str(model), "--out", str(out),
            "--every", "0.5", "--quiet"]


def _only_run(out):
    (run,) = [p for p in out.iterdir() if p.is_dir()]
    return run


def _contents(run):
    """Every file of the run by name; the tables with the run's own folder name taken out."""
    files = sorted(str(p.relative_to(run)) for p in run.rglob("*") if p.is_file())
    tables = {name: (run / name).read_text().replace(str(run), "RUN")
              for name in ("counts.csv", "counts.json", "index.html")}
    return files, tables


@pytest.mark.slow
def test_count_killed_after_every_kind_of_write_ends_as_the_unbroken_run(counter_files,
                                                                         tmp_path):
    photos = tmp_path / "photos"
    crowd_pngs(photos, sizes=((40, 56), (48, 64)))
    write_video(str(photos / "street.mkv"), crowd_frames(25, seed=2), 10, "libx264")
    model = counter_files / "counter.onnx"  # no TensorFlow to load: a re-run starts in ~1 s
    unbroken, out = tmp_path / "unbroken", tmp_path / "killed"
    finished = subprocess.run([sys.executable, *_command(photos, model, unbroken)], cwd=REPO,
                              capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr[-2000:]

    def done():
        runs = [p for p in out.iterdir() if p.is_dir()] if out.exists() else []
        return bool(runs) and (runs[0] / "counts.json").exists() and not (
            runs[0] / JOURNAL).exists()

    kills, last = kill_sweep(_command(photos, model, out), lambda: _command(photos, model, out),
                             out, cwd=REPO, finished=done)
    assert getattr(last, "returncode", 0) == 0, last.stderr[-2000:]
    changes = "\n".join(f"{kill.change} +{kill.delay}: {kill.last_change}" for kill in kills)
    kinds = {re.sub(r"^[^/]*/", "", kind) for kind in covered_kinds(kills)}
    assert {JOURNAL, "thumbnails/#_crowd_#.jpg"} <= kinds, changes
    run = _only_run(out)  # every re-run took up the same folder
    assert not (run / JOURNAL).exists()
    assert _contents(run) == _contents(_only_run(unbroken))
    document = json.loads((run / "counts.json").read_text())
    (video,) = document["videos"]
    assert [f["frame"] for f in video["frames"]] == [0, 5, 10, 15, 20]  # each counted once
    # A finished run is not taken up again: the same command afterwards counts anew.
    again = subprocess.run([sys.executable, *_command(photos, model, out)], cwd=REPO,
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and len([p for p in out.iterdir() if p.is_dir()]) == 2


@pytest.mark.slow
def test_a_video_killed_midway_goes_on_after_its_last_counted_frame(counter_files, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    write_video(str(photos / "long.mkv"), crowd_frames(60, seed=5), 10, "libx264")
    model = counter_files / "counter.onnx"
    unbroken, out = tmp_path / "unbroken", tmp_path / "killed"
    assert subprocess.run([sys.executable, *_command(photos, model, unbroken)], cwd=REPO,
                          capture_output=True, timeout=300).returncode == 0
    process = subprocess.Popen([sys.executable, *_command(photos, model, out)], cwd=REPO,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # kill once some frames, not all, are journaled
        journals = list(out.glob("*/" + JOURNAL)) if out.exists() else []
        if journals and journals[0].read_text().count('"frames"') >= 3:
            break
        time.sleep(0.002)
    process.send_signal(signal.SIGKILL)
    process.wait()
    journal = next(out.glob("*/" + JOURNAL)).read_text()
    assert '"video"' not in journal  # killed inside the video
    counted_before = journal.count('"frames"')
    again = subprocess.run([sys.executable, *_command(photos, model, out)], cwd=REPO,
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "Taking up the unfinished run" in again.stdout
    assert _contents(_only_run(out)) == _contents(_only_run(unbroken))
    (video,) = json.loads((_only_run(out) / "counts.json").read_text())["videos"]
    assert [f["frame"] for f in video["frames"]] == list(range(0, 60, 5))
    assert 3 <= counted_before < 12
