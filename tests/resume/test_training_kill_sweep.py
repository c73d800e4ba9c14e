"""Pre-training killed at any instant, or pre-empted, and resumed ends as the unbroken run.

The sweep trains the tiny test network (``tiny_cnn``: two convolution stages with batch
normalisation), whose process starts in a fraction of ResNet50's time, through the same
callbacks, backups and folder; ResNet50 itself is resumed once mid-epoch and compared in
tests/resume/test_resnet50_resume.py.
The configuration learns (loss and accuracy change every epoch), so equal numbers mean
something.
"""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from syrac.fixtures import make_ranking_set
from syrac.rank.preemption import (
    NOTICE_SIGNALS,
    PREEMPTED_EXIT_CODE,
    notice_received,
    preemption_notices,
)
from tests.conftest import REPO, run_wrapper
from tests.kill_sweep import covered_kinds, kill_sweep
from tests.resume.training_runs import (
    EPOCHS,
    STEPS,
    assert_same_run,
    command,
    resume,
    run_folder,
)

@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data")
    make_ranking_set(str(folder), "rank", train_pairs=12, val_pairs=4)
    return folder


@pytest.fixture(scope="module")
def unbroken(data, tmp_path_factory):
    runs = tmp_path_factory.mktemp("unbroken")
    result = run_wrapper(*command(data, runs))
    assert result.returncode == 0, result.stderr[-2000:]
    return run_folder(runs)


@pytest.mark.slow
def test_training_killed_after_every_kind_of_write_ends_as_the_unbroken_run(data, unbroken,
                                                                           tmp_path):
    runs = tmp_path / "killed"
    kills, last = kill_sweep(command(data, runs), lambda: resume(runs, data), runs, cwd=REPO)
    assert last.returncode == 0, last.stderr[-2000:]
    # Which kinds a kill follows depends on timing: two writes a few ms apart can fall in one
    # look, a kill 0.15 s after a write can land after later writes (which the re-run may
    # never make again), and a last write can end the process first. Backups recur all run
    # long, so one of them always has a kill after it.
    kinds = covered_kinds(kills)
    assert len(kinds) >= 3, kinds
    assert any("backup/" in kind for kind in kinds), kinds
    run_dir = run_folder(runs)
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
    process = subprocess.Popen([sys.executable, *map(str, command(data, runs))], cwd=REPO,
                               env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while run_folder(runs) is None or not (run_folder(runs) / "backup").is_dir():
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    process.send_signal(notice)  # training has started: the first backup is being written
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == PREEMPTED_EXIT_CODE, stderr[-2000:]
    (line,) = [line for line in stderr.splitlines() if "stopped by" in line]
    assert f"stopped by {notice.name}, backed up after " in line and "Traceback" not in stderr
    run_dir = run_folder(runs)
    position = json.loads((run_dir / "backup" / "position.json").read_text())
    assert position["global_step"] < EPOCHS * STEPS
    assert json.loads((run_dir / "status.json").read_text())["state"] == "running"

    resumed = run_wrapper(*command(data, runs))  # the same command, as a requeued job runs it
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "Resuming" in resumed.stdout
    assert_same_run(run_dir, unbroken)
