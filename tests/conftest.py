"""Shared fixtures: tiny datasets in the real formats, and one real pre-training run."""

import json
import os
import pathlib
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest  # noqa: E402

from syrac.fixtures import make_count_set, make_ranking_set  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[1]


def run_wrapper(script, *arguments, env=None, timeout=900):
    """Run ``python <script> <arguments>`` from the repository root; return the completed process."""
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", **(env or {}))
    return subprocess.run(
        [sys.executable, str(REPO / script), *map(str, arguments)],
        cwd=REPO, capture_output=True, text=True, env=environment, timeout=timeout,
    )


def training_command(data_dir, runs, name="tiny", *extra):
    """The authors' seed command on a fixture, with the tiny parameter set."""
    return [str(part) for part in [
        "--experiment", "training/baseline", "--params_dir", "./config/", "--params", "tiny",
        "--dataset", "rank", "--data_dir", data_dir, "--experiment_dir", runs,
        "--experiment_name", name, "--seed", "7", *extra,
    ]]


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory):
    """A data folder with a ranking set ``rank``, a noisy count set ``synth``, a benchmark ``bench``."""
    root = tmp_path_factory.mktemp("data")
    make_ranking_set(str(root), "rank", train_pairs=6, val_pairs=2)
    make_count_set(str(root), "synth", images=6)
    make_count_set(str(root), "bench", images=4, split="test", seed=2)
    return root


@pytest.fixture(scope="session")
def pretrained_run(data_dir, tmp_path_factory):
    """Run the seed pre-training command once (one epoch) and return its run folder."""
    runs = tmp_path_factory.mktemp("runs")
    result = run_wrapper("train_wrapper.py", *training_command(data_dir, runs, "tiny", "--set", "epochs=1"))
    assert result.returncode == 0, result.stderr[-3000:]
    (run_dir,) = (runs / "tiny" / "rank" / "0").iterdir()
    return run_dir


def write_json(path, document):
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document))
    return path
