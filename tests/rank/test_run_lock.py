"""One run folder, one process: the run-folder lock, a second process, and a stale lock."""

import os
import signal
import subprocess
import sys

import pytest

import train_wrapper
from syrac.cli import training_parser
from syrac.common.errors import SyracError
from syrac.fixtures import make_ranking_set
from syrac.rank.pretraining import prepare_run
from syrac.rank.request import PretrainRequest
from syrac.rank.run_folder import (
    LOCK_NAME,
    UNFINISHED,
    RunLock,
    claim_interrupted_run,
    claim_run_to_resume,
    create_run_dir,
    write_status,
)
from tests.conftest import REPO, training_command


def test_a_new_run_folder_is_locked_until_released(tmp_path):
    lock = create_run_dir(str(tmp_path / "root"), {"args.json": {"a": 1}})
    assert (tmp_path / "root").is_dir() and os.path.dirname(lock.run_dir) == str(tmp_path / "root")
    assert sorted(os.listdir(tmp_path / "root")) == [os.path.basename(lock.run_dir)]  # no staging left
    assert sorted(os.listdir(lock.run_dir)) == [".lock", "args.json", "status.json"]
    pid, host = open(lock.path).read().split()
    assert int(pid) == os.getpid() and host
    assert not RunLock(lock.run_dir).acquire()  # flock: another open file, even in this process
    lock.release()
    assert not os.path.exists(lock.path)
    again = RunLock(lock.run_dir)
    assert again.acquire()
    again.release()


def test_a_staging_folder_left_by_a_kill_is_removed_and_a_live_one_kept(tmp_path):
    root = tmp_path / "root"
    stale = root / ".new-2026-01-01-00-00-00-1.tmp"
    stale.mkdir(parents=True)
    (stale / "args.json").write_text("{")
    live = root / ".new-2026-01-01-00-00-00-2.tmp"
    live.mkdir()
    held = RunLock(str(live))
    assert held.acquire()
    lock = create_run_dir(str(root), {})
    assert not stale.exists() and live.exists()
    lock.release()
    held.release()


def _interrupted_run(tmp_path):
    """An interrupted run made by the training command's own preparation, still locked."""
    data = tmp_path / "data"
    make_ranking_set(str(data), "rank", train_pairs=4, val_pairs=2)
    argv = training_command(data, tmp_path / "runs", "x", "--set", "epochs=1")
    request = PretrainRequest.from_options(training_parser().parse_args(argv))
    lock, recorded, params, _ = prepare_run(request)
    write_status(lock.run_dir, UNFINISHED)
    return lock, argv, recorded, params


@pytest.mark.slow
def test_a_second_process_never_writes_into_a_live_run(tmp_path, capsys):
    held, argv, recorded, params = _interrupted_run(tmp_path)
    root = os.path.dirname(held.run_dir)
    assert claim_interrupted_run(root, recorded, params) is None
    assert f"{held.run_dir} is in use by process {os.getpid()}" in capsys.readouterr().out
    with pytest.raises(SyracError, match=f"being trained right now by process {os.getpid()}"):
        claim_run_to_resume(held.run_dir)

    before = sorted(os.listdir(held.run_dir))
    assert train_wrapper.main(argv) is None  # the same command while the first one is alive
    out = capsys.readouterr().out
    assert "is in use by" in out and "Run completed" in out
    runs = sorted(os.listdir(root))
    assert len(runs) == 2  # it started a run of its own
    assert sorted(os.listdir(held.run_dir)) == before  # and left the live one alone
    (new_run,) = [name for name in runs if os.path.join(root, name) != held.run_dir]
    assert os.path.isfile(os.path.join(root, new_run, "best_model_01.keras"))
    assert not os.path.exists(os.path.join(root, new_run, LOCK_NAME))
    held.release()
    claimed = claim_interrupted_run(root, recorded, params)
    assert claimed is not None and claimed.run_dir == held.run_dir
    claimed.release()


@pytest.mark.slow
def test_a_stale_lock_of_a_killed_process_does_not_block_a_resume(tmp_path):
    held, _, recorded, params = _interrupted_run(tmp_path)
    held.release()
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from syrac.rank.run_folder import RunLock; "
         "lock = RunLock(sys.argv[1]); assert lock.acquire(); print('held', flush=True); "
         "time.sleep(600)",
         held.run_dir],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(SyracError, match=f"by process {holder.pid} on "):
            claim_run_to_resume(held.run_dir)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=60)
    assert os.path.exists(os.path.join(held.run_dir, LOCK_NAME))  # stale, left by the kill
    resumed = claim_run_to_resume(held.run_dir)
    assert open(resumed.path).read().split()[0] == str(os.getpid())
    resumed.release()
    again = claim_interrupted_run(os.path.dirname(held.run_dir), recorded, params)
    assert again is not None
    again.release()
