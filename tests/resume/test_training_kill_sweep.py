"""Pre-training killed at any instant, or pre-empted, and resumed ends as the unbroken run.

The sweep trains the tiny test network (``tiny_cnn``: two convolution stages with batch
normalisation), whose process starts in a fraction of ResNet50's time, through the same
callbacks, backups and folder; ResNet50 itself, with its many moving statistics to restore,
trains one epoch, is resumed once mid-epoch and compared too.
The configuration learns (loss and accuracy change every epoch), so equal numbers mean
something.
"""

import json
import os
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

from syrac.rank.run_folder import RunFolder
from syrac.fixtures import make_ranking_set
from syrac.rank.preemption import (
    NOTICE_SIGNALS,
    PREEMPTED_EXIT_CODE,
    notice_received,
    preemption_notices,
)
from tests.conftest import REPO, run_wrapper, training_command
from tests.kill_sweep import covered_kinds, kill_sweep

# Float rounding: a resumed run does the same float32 operations on the same values in the
# same order (two unbroken runs agree to the last bit), so 1e-6 relative leaves room for none
# else.
TOLERANCE = 1e-6
EPOCHS = 2
STEPS = 3  # 12 pairs, batch 4


def _command(data, runs, model="tiny_cnn", epochs=EPOCHS):
    return ["train_wrapper.py", *training_command(
        data, runs, "sweep", "--set", f"epochs={epochs}", "batch_size=4", "input_shape=[48,64,3]",
        "backup_every_n_batches=2", "num_layers=0", "learning_rate=1e-3", f"model_name={model}",
        "--patience", "10")]


def _run_folder(runs):
    root = runs / "sweep" / "rank" / "0"
    folders = [p for p in root.iterdir() if not p.name.startswith(".")] if root.is_dir() else []
    return folders[0] if len(folders) == 1 else None


def _resume(runs, data, model="tiny_cnn", epochs=EPOCHS):
    run_dir = _run_folder(runs)
    if run_dir is None:
        return _command(data, runs, model, epochs)
    return ["train_wrapper.py", "--experiment", "training/baseline", "--resume", run_dir]


def _files(run_dir):
    return sorted(str(p.relative_to(run_dir)) for p in run_dir.rglob("*") if p.is_file())



def _scalars(run_dir):
    """``{(side, tag, step): value}`` from the TensorBoard files; fails on a repeated entry."""
    found = {}
    for path in sorted((run_dir / "logs").rglob("*tfevents*")):
        for record in tf.data.TFRecordDataset(str(path)):
            event = tf.compat.v1.Event.FromString(record.numpy())
            for value in event.summary.value:
                key = (path.parent.name, value.tag, event.step)
                assert key not in found, f"{key} logged twice"
                found[key] = float(tf.make_ndarray(value.tensor))
    return found


def assert_same_run(run_dir, reference, epochs=EPOCHS):
    """The folder and the numbers of ``run_dir`` are those of the unbroken ``reference``."""
    assert _files(run_dir) == _files(reference)
    assert [row["epoch"] for row in RunFolder(run_dir).rows()] == [str(e) for e in range(epochs)]
    assert [p.name for p in sorted(run_dir.glob("best_model_*.keras"))] == [
        f"best_model_{e:02d}.keras" for e in range(1, epochs + 1)]
    status, expected = (json.loads((folder / "status.json").read_text())
                        for folder in (run_dir, reference))
    assert status["state"] == expected["state"] == "completed"
    assert status["optimizer_steps"] == expected["optimizer_steps"] == epochs * STEPS

    rows, want_rows = RunFolder(run_dir).rows(), RunFolder(reference).rows()
    assert len({row["loss"] for row in want_rows}) == epochs  # the run learns: numbers move
    for row, want in zip(rows, want_rows):
        assert row.keys() == want.keys()
        for key in row:
            assert float(row[key]) == pytest.approx(float(want[key]), rel=TOLERANCE, abs=1e-9)
    scalars, want_scalars = _scalars(run_dir), _scalars(reference)
    assert scalars.keys() == want_scalars.keys()
    assert {step for _, _, step in scalars} == set(range(epochs))
    for key, value in scalars.items():
        assert value == pytest.approx(want_scalars[key], rel=TOLERANCE, abs=1e-9)
    for epoch in range(1, epochs + 1):
        name = f"best_model_{epoch:02d}.keras"
        got = keras.models.load_model(run_dir / name, compile=False).get_weights()
        want = keras.models.load_model(reference / name, compile=False).get_weights()
        for a, b in zip(got, want):
            np.testing.assert_allclose(a, b, rtol=TOLERANCE, atol=1e-7)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data")
    make_ranking_set(str(folder), "rank", train_pairs=12, val_pairs=4)
    return folder


@pytest.fixture(scope="module")
def unbroken(data, tmp_path_factory):
    runs = tmp_path_factory.mktemp("unbroken")
    result = run_wrapper(*_command(data, runs))
    assert result.returncode == 0, result.stderr[-2000:]
    return _run_folder(runs)


@pytest.mark.slow
def test_training_killed_after_every_kind_of_write_ends_as_the_unbroken_run(data, unbroken,
                                                                           tmp_path):
    runs = tmp_path / "killed"
    kills, last = kill_sweep(_command(data, runs), lambda: _resume(runs, data), runs, cwd=REPO)
    assert last.returncode == 0, last.stderr[-2000:]
    # Which kinds a kill follows depends on timing: two writes a few ms apart can fall in one
    # look, a kill 0.15 s after a write can land after the next epoch's checkpoint and backup
    # (so the re-run never writes that checkpoint again), and a last write can end the process
    # first. The run folder's creation and a committed backup always come before any of that.
    kinds = covered_kinds(kills)
    assert len(kinds) >= 6, kinds
    for written in ("args.json", "backup/position.json", "backup/step_#.weights.h#"):
        assert any(kind.endswith(written) for kind in kinds), (written, kinds)
    run_dir = _run_folder(runs)
    assert sorted(os.listdir(runs / "sweep" / "rank" / "0")) == [run_dir.name]  # no staging left
    assert_same_run(run_dir, unbroken)


@pytest.mark.parametrize("notice", NOTICE_SIGNALS)
def test_both_notices_only_raise_the_flag_while_training(notice):
    with preemption_notices():
        assert notice_received() is None
        os.kill(os.getpid(), notice)
        assert notice_received() == signal.Signals(notice).name
    with preemption_notices():
        assert notice_received() is None  # a new training run starts without a notice
    assert signal.getsignal(notice) in (signal.SIG_DFL, signal.default_int_handler)


@pytest.mark.slow
def test_a_preemption_notice_backs_up_at_once_and_exits_75(data, unbroken, tmp_path):
    """SIGTERM end to end (SIGUSR1 takes the same path: the test above)."""
    notice = signal.SIGTERM
    runs = tmp_path / "runs"
    process = subprocess.Popen([sys.executable, *map(str, _command(data, runs))], cwd=REPO,
                               env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while _run_folder(runs) is None or not (_run_folder(runs) / "backup").is_dir():
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    process.send_signal(notice)  # training has started: the first backup is being written
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == PREEMPTED_EXIT_CODE, stderr[-2000:]
    (line,) = [line for line in stderr.splitlines() if "stopped by" in line]
    assert f"stopped by {notice.name}, backed up after " in line and "Traceback" not in stderr
    run_dir = _run_folder(runs)
    position = json.loads((run_dir / "backup" / "position.json").read_text())
    assert position["global_step"] < EPOCHS * STEPS
    assert json.loads((run_dir / "status.json").read_text())["state"] == "running"

    resumed = run_wrapper(*_command(data, runs))  # the same command, as a requeued job runs it
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "Resuming" in resumed.stdout
    assert_same_run(run_dir, unbroken)


@pytest.mark.slow
def test_resnet50_killed_mid_epoch_resumes_at_the_next_batch_with_the_same_numbers(data, tmp_path):
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    reference = subprocess.Popen(  # the unbroken run, alongside the one to kill
        [sys.executable, *map(str, _command(data, tmp_path / "unbroken", "resnet50", 1))],
        cwd=REPO, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    runs = tmp_path / "killed"
    process = subprocess.Popen([sys.executable, *map(str, _command(data, runs, "resnet50", 1))],
                               cwd=REPO, env=environment,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600
    position = None
    while position is None and time.monotonic() < deadline and process.poll() is None:
        found = list(runs.glob("sweep/rank/0/*/backup/position.json"))
        position = json.loads(found[0].read_text()) if found else None
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert position == {**position, "epoch": 0, "batch": 2}  # killed after a mid-epoch backup
    _, stderr = reference.communicate(timeout=600)
    assert reference.returncode == 0, stderr[-2000:]

    resumed = run_wrapper(*_resume(runs, data, "resnet50", 1))
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"at epoch 1, batch 3 of {STEPS}" in resumed.stdout
    assert_same_run(_run_folder(runs), _run_folder(tmp_path / "unbroken"), epochs=1)

    again = run_wrapper("train_wrapper.py", "--experiment", "training/baseline", "--resume",
                        _run_folder(runs))
    assert again.returncode == 0 and "has already completed; nothing to resume" in again.stdout
