"""The single-process parts of multi-worker training: TF_CONFIG checked, worker folders, the
backup every worker holds, two backups kept, a worker's stop on a notice."""

import json
import os
import re
import subprocess

import keras
import pytest

from syrac.common.errors import SyracError
from syrac.rank.callbacks import TrainingBackup
from syrac.rank.run_folder import RunFolder
from syrac.rank.multi_worker import (
    common_backup,
    read_cluster,
    worker_folder,
    worker_folders,
)
from syrac.rank.preemption import Preempted, StopOnNotice, _Notice
from tests.conftest import REPO


def _config(cluster, task_type="worker", index=0):
    return {"TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": task_type,
                                                                   "index": index}})}


def test_workers_only_cluster_makes_worker_zero_the_chief():
    cluster = {"worker": ["node1:2222", "node2:2222", "node3:2222"]}
    tasks = [read_cluster(_config(cluster, index=i)) for i in range(3)]
    assert [task.worker_id for task in tasks] == [0, 1, 2]
    assert [task.is_chief for task in tasks] == [True, False, False]
    assert tasks[2].addresses == ("node1:2222", "node2:2222", "node3:2222")
    assert tasks[2].workers == 3


def test_a_chief_task_comes_first_and_the_workers_after_it():
    cluster = {"chief": ["head:2222"], "worker": ["node1:2222", "node2:2222"]}
    chief = read_cluster(_config(cluster, "chief", 0))
    second = read_cluster(_config(cluster, "worker", 1))
    assert (chief.worker_id, chief.is_chief) == (0, True)
    assert (second.worker_id, second.is_chief) == (2, False)
    assert second.addresses == ("head:2222", "node1:2222", "node2:2222")


@pytest.mark.parametrize("environ, named", [
    ({}, "TF_CONFIG environment variable is not set"),
    ({"TF_CONFIG": "  "}, "TF_CONFIG environment variable is not set"),
    ({"TF_CONFIG": "{'cluster': 1}"}, "TF_CONFIG is not valid JSON"),
    ({"TF_CONFIG": "[1, 2]"}, "TF_CONFIG must be a JSON object"),
    ({"TF_CONFIG": json.dumps({"cluster": {"worker": ["a:1"]}})}, "TF_CONFIG must be a JSON object"),
    (_config({"worker": ["a:1"], "ps": ["b:1"]}), "task type(s) ps"),
    (_config({"worker": "a:1"}), "cluster.worker must be a list"),
    (_config({"worker": ["a"]}), "holds 'a', not \"host:port\""),
    (_config({"worker": ["a:99999"]}), "holds 'a:99999'"),
    (_config({"chief": ["a:1", "b:1"], "worker": []}, "chief"), "at most one chief"),
    (_config({"worker": []}), "lists no worker"),
    (_config({"worker": ["a:1"]}, "evaluator"), "task.type is 'evaluator'"),
    (_config({"worker": ["a:1"]}, "chief"), "task.type is 'chief'"),
    (_config({"worker": ["a:1", "b:1"]}, index=2), "task.index is 2; cluster.worker has 2"),
    (_config({"worker": ["a:1"]}, index=True), "task.index is True"),
    (_config({"worker": ["a:1"]}, index="0"), "task.index is '0'"),
    (_config({"worker": ["node1:2222", "node1:2222"]}),
     "cluster.worker[1] is 'node1:2222' and cluster.worker[0] is the same address"),
    (_config({"chief": ["localhost:2222"], "worker": ["127.0.0.1:2222"]}, "chief"),
     "cluster.worker[0] is '127.0.0.1:2222' and cluster.chief[0] is 'localhost:2222', the same "
     "host and port"),
])
def test_a_bad_tf_config_is_one_error_naming_it(environ, named):
    with pytest.raises(SyracError) as raised:
        read_cluster(environ)
    assert named in str(raised.value)
    assert "--strategy multi_worker" in str(raised.value)


def test_worker_folders_are_hidden_siblings_of_the_run_folder(tmp_path):
    run_dir = tmp_path / "2026-01-01-00-00-00"
    run_dir.mkdir()
    assert worker_folder(str(run_dir), 2) == str(tmp_path / ".2026-01-01-00-00-00.worker-2")
    assert worker_folder(str(run_dir) + "/", 1) == str(tmp_path / ".2026-01-01-00-00-00.worker-1")
    for name in (".2026-01-01-00-00-00.worker-1", ".2026-01-01-00-00-00.worker-3",
                 ".2026-01-01-00-00-00-1.worker-1", ".2026-01-01-00-00-00.worker-x"):
        (tmp_path / name).mkdir()
    assert [os.path.basename(p) for p in worker_folders(str(run_dir))] == [
        ".2026-01-01-00-00-00.worker-1", ".2026-01-01-00-00-00.worker-3"]


def _record(step):
    return {"epoch": step // 4, "batch": step % 4, "global_step": step, "weights": f"w{step}"}


@pytest.mark.parametrize("steps_by_worker, mine, expected", [
    ([[8, 6], [8, 6]], [8, 6], 8),          # everybody finished the last backup
    ([[8, 6], [6, 4]], [8, 6], 6),          # killed between the workers' writes of step 8
    ([[6, 4], [8, 6]], [6, 4], 6),
    ([[8, 6], [8, 6], [6, 4]], [8, 6], 6),
    ([[2], []], [2], None),                 # one worker never backed up: from the start
    ([[], []], [], None),
    ([[8, 6], [4, 2]], [8, 6], None),       # nothing in common (several failures)
])
def test_workers_resume_from_the_latest_backup_they_all_hold(steps_by_worker, mine, expected):
    chosen = common_backup(steps_by_worker, [_record(step) for step in mine])
    assert (chosen["global_step"] if chosen else None) == expected


def _tiny_model():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    return model


def test_a_backup_keeps_the_previous_one_when_asked(tmp_path):
    model = _tiny_model()
    kept = TrainingBackup(str(tmp_path / "kept"), 10, 2, keep_previous=True)
    single = TrainingBackup(str(tmp_path / "single"), 10, 2)
    for backup in (kept, single):
        backup.set_model(model)
        for batch in (2, 4, 6):
            backup.save(0, batch)
    kept_folder, single_folder = RunFolder(tmp_path / "kept"), RunFolder(tmp_path / "single")
    assert [r["global_step"] for r in kept_folder.backup_records()] == [6, 4]
    assert sorted(os.listdir(tmp_path / "kept" / "backup")) == [
        "position.json", "step_00000004.weights.h5", "step_00000006.weights.h5"]
    assert [r["global_step"] for r in single_folder.backup_records()] == [6]
    assert sorted(os.listdir(tmp_path / "single" / "backup")) == [
        "position.json", "step_00000006.weights.h5"]

    older = kept_folder.backup_records()[1]
    kept_folder.commit_backup(older)
    assert kept_folder.backup_position()["global_step"] == 4
    kept.save(0, 6)  # trained again from step 4: the previous backup is step 4 now
    assert [r["global_step"] for r in kept_folder.backup_records()] == [6, 4]


def test_one_of_several_workers_stops_on_a_notice_without_a_backup_of_its_own(tmp_path):
    model = _tiny_model()
    backup = TrainingBackup(str(tmp_path), 10, 5, keep_previous=True)
    backup.set_model(model)
    stop = StopOnNotice(backup, back_up=False)
    _Notice.received = "SIGTERM"
    try:
        with pytest.raises(Preempted) as raised:
            stop.on_train_batch_end(2)
    finally:
        _Notice.received = None
    assert "after batch 3 of epoch 1" in str(raised.value)
    assert not (tmp_path / "backup").exists()


def test_the_readme_tf_configs_and_slurm_script_describe_the_cluster():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Beyond one machine"):]
    examples = re.findall(r"export TF_CONFIG='(.+)'", section)
    tasks = [read_cluster({"TF_CONFIG": text}) for text in examples]
    assert [(task.worker_id, task.addresses) for task in tasks] == [
        (0, ("node1:23456", "node2:23456")), (1, ("node1:23456", "node2:23456"))]

    script = section[section.index("srun bash -c '") + len("srun bash -c '"):]
    lines = script.splitlines()[1:3]  # workers=..., export TF_CONFIG=...
    assert lines[0].startswith("workers=") and lines[1].startswith("export TF_CONFIG=")
    for procid in (0, 2):
        printed = subprocess.run(
            ["bash", "-c", "\n".join(lines) + '\nprintf %s "$TF_CONFIG"'], check=True,
            env={"PATH": os.environ["PATH"], "SYRAC_HOSTS": "gpu-a,gpu-b,gpu-c",
                 "SYRAC_PORT": "23456", "SLURM_PROCID": str(procid)},
            capture_output=True, text=True).stdout
        task = read_cluster({"TF_CONFIG": printed})
        assert task.worker_id == procid
        assert task.addresses == ("gpu-a:23456", "gpu-b:23456", "gpu-c:23456")


def test_tidying_a_finished_run_removes_the_worker_folders_a_kill_left(tmp_path):
    from syrac.rank.resume import tidy_finished_run

    run_dir = tmp_path / "2026-01-01-00-00-00"
    (run_dir / "backup").mkdir(parents=True)
    (run_dir / "status.json").write_text('{"state": "completed"}')
    (run_dir / "results.csv").write_text("epoch,loss\n0,1.0\n")
    for folder in (".2026-01-01-00-00-00.worker-1", ".2026-01-01-00-00-00.worker-2"):
        (tmp_path / folder / "backup").mkdir(parents=True)
    (tmp_path / ".2026-01-01-00-00-01.worker-1").mkdir()  # another run's: kept
    assert tidy_finished_run(str(run_dir)) == "completed"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".2026-01-01-00-00-01.worker-1", "2026-01-01-00-00-00"]
    assert sorted(p.name for p in run_dir.iterdir()) == ["results.csv", "status.json"]


def test_a_lost_peer_is_one_line_naming_the_task_that_stopped():
    import tensorflow as tf

    from syrac.rank.multi_worker import LostPeer, lost_peers_reported

    message = ("Graph execution error:\n\nDetected at node CollectiveReduceV2 defined at (most "
               "recent call last):\n  File \"x.py\", line 7, in step\n\nCollective ops is aborted "
               "by: Error reported from /job:worker/task:1: The following tasks are unhealthy "
               "(stopped sending heartbeats):\n/job:worker/replica:0/task:1\nThe tasks have "
               "crashed.\n\t [[{{node CollectiveReduceV2}}]]")
    cluster = read_cluster(_config({"worker": ["a:1", "b:1"]}))
    with pytest.raises(LostPeer) as raised:
        with lost_peers_reported(cluster):
            raise tf.errors.UnavailableError(None, None, message)
    text = str(raised.value)
    assert raised.value.exit_code == 75 and "\n" not in text
    assert "worker 0 lost contact" in text and "unhealthy" in text
    assert "/job:worker/replica:0/task:1" in text
    with pytest.raises(tf.errors.UnavailableError):  # one process: not a lost peer
        with lost_peers_reported(None):
            raise tf.errors.UnavailableError(None, None, message)
