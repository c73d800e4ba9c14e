"""Two worker processes on localhost, as a cluster of two machines would run them.

Each test starts real ``train_wrapper.py`` processes with their own ``TF_CONFIG`` (free ports,
SIGKILL after a timeout). The tiny ResNet50 runs use synchronized batch normalisation
(``tests/scripts/synchronized_train_wrapper.py``, a test-only setting) and no augmentation, so that their
weights can be compared with one process training on the same global batch: ``--strategy
mirrored`` with two CPU replicas, which splits every batch as the two workers do. (Against a
single replica the weights differ after a few steps, from float sums taken in another order:
batch norm's E[x^2] - E[x]^2 and a random-initialised ResNet50 amplify them.) The kill and
resume of two workers is in ``test_two_worker_resume.py``.
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
from tests.conftest import REPO
from tests.multi_worker.cluster_runs import (
    EPOCHS,
    STEPS,
    TIMEOUT,
    assert_same_rows,
    assert_same_weights,
    files,
    ok,
    resnet_command,
    run_folders,
)
from tests.multi_worker.launch import free_ports, run_workers, start_workers, wait_all

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def equality_runs(data, tmp_path_factory):
    """The two-worker ResNet50 run and its one-process reference, started together (three
    processes at once: each spends most of its time tracing ResNet50, alone)."""
    cluster_runs, single_runs = (tmp_path_factory.mktemp(name)
                                 for name in ("two_workers", "one_process"))
    single = subprocess.Popen(
        [sys.executable, *resnet_command(data, single_runs, "--strategy", "mirrored")], cwd=REPO,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", SYRAC_CPU_REPLICAS="2"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    workers = start_workers(
        lambda index: resnet_command(data, cluster_runs, "--strategy", "multi_worker"), cwd=REPO)
    *results, single_result = wait_all([*workers, single], TIMEOUT)
    ok([*results, single_result])
    return (cluster_runs, results), single_runs


@pytest.fixture(scope="module")
def two_worker_run(equality_runs):
    return equality_runs[0]


@pytest.fixture(scope="module")
def one_process_run(equality_runs):
    return equality_runs[1]


def test_the_chief_alone_writes_a_complete_run_folder(two_worker_run, one_process_run):
    runs, results = two_worker_run
    (run_dir,) = run_folders(runs)  # the worker's own folder is gone
    assert "Run folder: " + str(run_dir) in results[0].stdout
    assert "Worker 1 of 2" in results[1].stdout
    single = run_folders(one_process_run)[0]
    assert files(run_dir) == files(single)  # the same layout as one process's
    assert files(run_dir) == [
        "args.json", "best_model_01.keras", "best_model_02.keras", "hyperparams.json",
        "logs/train/events.out.tfevents.epoch-0000.v2",
        "logs/train/events.out.tfevents.epoch-0001.v2",
        "logs/validation/events.out.tfevents.epoch-0000.v2",
        "logs/validation/events.out.tfevents.epoch-0001.v2", "results.csv", "status.json"]
    status = json.loads((run_dir / "status.json").read_text())
    assert (status["state"], status["replicas"], status["optimizer_steps"]) == (
        "completed", 2, EPOCHS * STEPS)
    assert json.loads((run_dir / "args.json").read_text())["strategy"] == "multi_worker"
    assert json.loads((run_dir / "hyperparams.json").read_text())["num_layers"] == 0
    assert [row["epoch"] for row in RunFolder(run_dir).rows()] == ["0", "1"]  # one row per epoch
    for path in sorted(run_dir.glob("logs/*/*.v2")):
        tags = {value.tag for event in tf.compat.v1.train.summary_iterator(str(path))
                for value in event.summary.value}
        assert "epoch_loss" in tags, path
    for checkpoint in sorted(run_dir.glob("best_model_*.keras")):
        encoder = keras.saving.load_model(checkpoint, compile=False)
        assert encoder.predict(np.zeros((1, 32, 48, 3)), verbose=0).shape == (1, 2048)


def test_two_workers_equal_one_process_at_the_same_global_batch(two_worker_run, one_process_run):
    (run_dir,) = run_folders(two_worker_run[0])
    (single,) = run_folders(one_process_run)
    status = json.loads((single / "status.json").read_text())
    assert (status["state"], status["replicas"]) == ("completed", 2)  # mirrored, 2 CPU replicas
    assert_same_rows(run_dir, single)
    for epoch in (1, 2):
        assert_same_weights(run_dir / f"best_model_{epoch:02d}.keras",
                             single / f"best_model_{epoch:02d}.keras")
    # Validation averaged the 3 real pairs, not the pair padding the last batch.
    accuracy = float(RunFolder(run_dir).rows()[0]["val_rank_accuracy"])
    assert np.isclose(accuracy * 3, round(accuracy * 3), atol=1e-5)


def test_every_pair_once_per_epoch_no_empty_batch_and_keras_still_needs_its_fixes(tmp_path):
    """Our pipelines under the real strategy, and unmodified Keras's two failures (when a
    Keras release fixes them, this fails: ``syrac/rank/multi_worker_fixes.py`` can go)."""
    def solid(number):
        path = str(tmp_path / f"pair{number}.png")
        tf.io.write_file(path, tf.io.encode_png(np.full((8, 8, 3), 10 * number + 5, np.uint8)))
        return path

    document = {"input_shape": [8, 8, 3], "batch_size": 4, "val_batch_size": 1,
                "train": [[solid(n), solid(n)] for n in range(10)],
                "val": [[solid(n), solid(n)] for n in range(10, 15)]}
    (tmp_path / "pairs.json").write_text(json.dumps(document))
    results = run_workers(lambda index: ["-m", "tests.multi_worker.probe", tmp_path / "pairs.json",
                                         tmp_path / f"worker{index}.json"], cwd=REPO, timeout=240)
    ok(results)
    probes = [json.loads((tmp_path / f"worker{index}.json").read_text()) for index in (0, 1)]
    steps = probes[0]["steps_per_epoch"]
    assert steps == 2 and all(len(probe["train"]) == 2 * steps for probe in probes)
    for epoch in range(2):
        seen = [number for probe in probes
                for batch in probe["train"][epoch * steps:(epoch + 1) * steps] for number in batch]
        assert len(seen) == len(set(seen)) == steps * 4  # each pair at most once, full batches
        assert set(seen) <= set(range(10))
    assert all(len(batch) == 2 for probe in probes for batch in probe["train"])  # 4 / 2 workers
    validation = [probe["validation"] for probe in probes]
    assert all(len(batch) == 1 for batches in validation for batch in batches)  # none empty
    real = sorted(n for batches in validation for batch in batches for n in batch if n is not None)
    assert real == list(range(10, 15))  # every validation pair once, one padding pair
    for probe in probes:
        assert "unsupported type" in probe["unpatched"]["symbolic_build"]
        assert "Invalid reduction dimension 0" in probe["unpatched"]["scalar_logs"]


def test_a_peer_that_never_comes_up_ends_the_command_after_the_startup_timeout(data, tmp_path):
    ports = free_ports(2)
    (process,) = start_workers(
        lambda index: resnet_command(data, tmp_path / "runs", "--strategy", "multi_worker",
                               "--startup_timeout", "2"), workers=1, cwd=REPO, ports=ports)
    started = time.monotonic()
    (result,) = wait_all([process], timeout=120)
    assert result.returncode == -signal.SIGKILL
    assert time.monotonic() - started < 100
    assert "did not come up within 2 s" in result.stderr
    assert f"localhost:{ports[1]}" in result.stderr and "--startup_timeout" in result.stderr
    assert not [p for p in (tmp_path / "runs").rglob("*") if p.is_file()]  # nothing written


def test_a_malformed_tf_config_is_one_line_and_writes_nothing(data, tmp_path):
    result = subprocess.run(
        [sys.executable, *resnet_command(data, tmp_path / "runs", "--strategy", "multi_worker")],
        cwd=REPO, env=dict(os.environ, TF_CONFIG='{"cluster": {"worker": ["localhost:1"]}',
                           TF_CPP_MIN_LOG_LEVEL="3"),
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "TF_CONFIG is not valid JSON" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "runs").exists()
