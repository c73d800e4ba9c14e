"""Two workers killed mid-epoch resume to the uninterrupted two-worker run (the tiny test
network with the augmentation on); a module of its own, so that it runs beside the ResNet50
equality of ``test_two_workers.py`` rather than after it."""

import glob
import json
import os
import signal
import time

import pytest

from tests.conftest import REPO
from tests.multi_worker.cluster_runs import (
    TIMEOUT,
    assert_same_rows,
    assert_same_weights,
    augmented_command,
    files,
    ok,
    resume_command,
    run_folders,
)
from tests.multi_worker.launch import run_workers, start_workers, wait_all

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def augmented_two_worker_run(data, tmp_path_factory):
    runs = tmp_path_factory.mktemp("augmented_two_workers")
    ok(run_workers(lambda index: augmented_command(data, runs), cwd=REPO, timeout=TIMEOUT))
    return runs


def _wait_for_backups(run_root, step, processes, timeout=TIMEOUT):
    """Wait until the chief and the other worker have both backed up ``step``; return the run
    folder."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        steps = {}
        for path in glob.glob(str(run_root / "*" / "backup" / "position.json")) + glob.glob(
                str(run_root / ".*.worker-1" / "backup" / "position.json")):
            try:
                steps[os.path.dirname(os.path.dirname(path))] = json.loads(
                    open(path).read())["global_step"]
            except (OSError, ValueError, KeyError):
                pass
        if len(steps) == 2 and min(steps.values()) >= step:
            return min(steps, key=lambda folder: os.path.basename(folder).startswith("."))
        if any(process.poll() is not None for process in processes):
            break
        time.sleep(0.02)
    for process in processes:
        process.kill()
    raise AssertionError(f"no backup of step {step}: {[p.communicate()[1][-2000:] for p in processes]}")


def test_killed_workers_resume_to_the_uninterrupted_result(data, augmented_two_worker_run, tmp_path):
    runs = tmp_path / "runs"
    root = runs / "cluster" / "rank" / "0"
    processes = start_workers(lambda index: augmented_command(data, runs), cwd=REPO)
    run_dir = _wait_for_backups(root, 1, processes)  # both backed up mid-epoch 1
    processes[1].send_signal(signal.SIGKILL)  # one worker dies; its peer notices and stops
    chief, worker = wait_all(processes, timeout=120)
    assert worker.returncode == -signal.SIGKILL
    assert chief.returncode in (75, -signal.SIGKILL), chief.stderr[-2000:]
    if chief.returncode == 75:
        assert "lost contact with the other workers" in chief.stderr
        assert "Traceback" not in chief.stderr
    assert os.path.isdir(root / f".{os.path.basename(run_dir)}.worker-1")
    run_dir = root / os.path.basename(run_dir)

    chief, worker = run_workers(lambda index: resume_command(run_dir), cwd=REPO, timeout=TIMEOUT)
    ok([chief, worker])
    assert f"Resuming {run_dir} at epoch" in chief.stdout, chief.stdout[-3000:]  # not from 0
    assert os.listdir(root) == [os.path.basename(run_dir)]  # worker folders removed
    (uninterrupted,) = run_folders(augmented_two_worker_run)
    assert files(run_dir) == files(uninterrupted)
    assert_same_rows(run_dir, uninterrupted)
    for epoch in (1, 2):
        assert_same_weights(run_dir / f"best_model_{epoch:02d}.keras",
                             uninterrupted / f"best_model_{epoch:02d}.keras")
