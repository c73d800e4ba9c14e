"""A ``count`` run folder's bookkeeping: the journal is the one mark of an unfinished run, so a
kill between any two steps of finishing leaves a run the same command finishes, or a finished
one, and never a stray file (the kill sweeps reach these windows only by chance)."""

import json
import os
import types

import pytest

from syrac.count.count_run import JOURNAL, CountRun
from syrac.common.folder_lock import LOCK_NAME

COUNTER = types.SimpleNamespace(runtime="onnxruntime", jpeg_decoder="pillow", n=2)
REQUEST = {"cwd": "/somewhere", "paths": ["photos"], "model": "/m/counter.onnx", "N": 2}


def _image(path, count):
    return {"path": path, "count": count, "N": 2, "width": 8, "height": 8,
            "patch_counts": [count / 4] * 4, "figure": "/a.png", "thumbnail": "/a.jpg"}


def _files(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_a_finished_run_leaves_only_its_results_and_is_not_taken_up(tmp_path):
    run = CountRun.start(str(tmp_path), REQUEST, COUNTER)
    run.add_image(_image("/a.png", 3.0))
    run.finish()
    folder = tmp_path / os.path.basename(run.folder)
    assert _files(folder) == ["counts.csv", "counts.json", "index.html"]
    again = CountRun.start(str(tmp_path), REQUEST, COUNTER)
    assert again.folder != run.folder and again.resumed == 0


def test_killed_after_the_lock_went_the_same_request_finishes_the_run(tmp_path):
    run = CountRun.start(str(tmp_path), REQUEST, COUNTER)
    run.add_image(_image("/a.png", 3.0))
    release = run.lock.release

    def killed_as_the_lock_goes():
        release()
        raise KeyboardInterrupt

    run.lock.release = killed_as_the_lock_goes
    with pytest.raises(KeyboardInterrupt):
        run.finish()
    folder = tmp_path / os.path.basename(run.folder)
    assert not (folder / LOCK_NAME).exists() and (folder / JOURNAL).exists()

    other = CountRun.start(str(tmp_path), {**REQUEST, "N": 3}, COUNTER)
    assert other.folder != run.folder  # asked something else: not taken up
    taken = CountRun.start(str(tmp_path), REQUEST, COUNTER)
    assert taken.folder == run.folder and taken.resumed == 1
    assert taken.counted("/a.png") and not taken.counted("/b.png")
    taken.finish()
    assert _files(folder) == ["counts.csv", "counts.json", "index.html"]


def test_a_live_run_is_not_taken_up_and_a_journal_without_a_request_is_not_ours(tmp_path):
    live = CountRun.start(str(tmp_path), REQUEST, COUNTER)
    assert CountRun.start(str(tmp_path), REQUEST, COUNTER).folder != live.folder
    stranger = tmp_path / "0000-stranger"
    stranger.mkdir()
    (stranger / JOURNAL).write_text('{"image": {}}\n')
    assert CountRun.start(str(tmp_path), REQUEST, COUNTER).folder != str(stranger)


def test_a_taken_up_run_writes_the_same_document_key_order_included(tmp_path):
    run = CountRun.start(str(tmp_path), REQUEST, COUNTER)
    run.add_image(_image("/a.png", 3.0))
    frames = [{"frame": 0, "time": 0.0, "count": 2.0, "patch_counts": [0.5] * 4}]
    run.add_frames("/v.mkv", frames)
    run.add_video({"path": "/v.mkv", "N": 2, "frames": frames, "mean": 2.0, "model": "m"})
    written = json.dumps(run.document())
    run.lock.release()  # killed before finishing
    taken = CountRun.start(str(tmp_path), REQUEST, COUNTER)
    assert taken.folder == run.folder and taken.counted("/v.mkv")
    assert json.dumps(taken.document()) == written
