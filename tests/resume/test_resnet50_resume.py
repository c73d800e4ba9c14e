"""ResNet50 itself, with its many moving statistics to restore, killed after a mid-epoch backup
and resumed at the next batch ends as the unbroken run (one epoch; the sweep of every kind of
write trains the tiny test network, tests/resume/test_training_kill_sweep.py)."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from syrac.fixtures import make_ranking_set
from tests.conftest import REPO, run_wrapper
from tests.resume.training_runs import STEPS, assert_same_run, command, resume, run_folder


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data")
    make_ranking_set(str(folder), "rank", train_pairs=12, val_pairs=4)
    return folder


@pytest.mark.slow
def test_resnet50_killed_mid_epoch_resumes_at_the_next_batch_with_the_same_numbers(data, tmp_path):
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    reference = subprocess.Popen(  # the unbroken run, alongside the one to kill
        [sys.executable, *map(str, command(data, tmp_path / "unbroken", "resnet50", 1))],
        cwd=REPO, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    runs = tmp_path / "killed"
    process = subprocess.Popen([sys.executable, *map(str, command(data, runs, "resnet50", 1))],
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

    resumed = run_wrapper(*resume(runs, data, "resnet50", 1))
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"at epoch 1, batch 3 of {STEPS}" in resumed.stdout
    assert_same_run(run_folder(runs), run_folder(tmp_path / "unbroken"), epochs=1)

    again = run_wrapper("train_wrapper.py", "--experiment", "training/baseline", "--resume",
                        run_folder(runs))
    assert again.returncode == 0 and "has already completed; nothing to resume" in again.stdout
