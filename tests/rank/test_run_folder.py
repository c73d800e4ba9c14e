"""Matching a command to an interrupted run folder."""

import json

from syrac.common.config import load_params
from syrac.rank.run_folder import UNFINISHED, find_interrupted_run, write_status

ARGS = {"dataset": "rank", "data_dir": "DATA", "experiment_name": "x", "index": 0, "seed": 3,
        "seed_given": True}


def _interrupted_run(root, params):
    run_dir = root / "2026-01-01-00-00-00"
    run_dir.mkdir(parents=True)
    (run_dir / "args.json").write_text(json.dumps(ARGS))
    (run_dir / "hyperparams.json").write_text(json.dumps(params))
    write_status(str(run_dir), UNFINISHED)
    return run_dir


def test_an_interrupted_run_is_found_only_with_the_same_arguments_and_parameters(tmp_path):
    params, _ = load_params("config", "tiny", {})
    run_dir = _interrupted_run(tmp_path, params)
    assert find_interrupted_run(str(tmp_path), ARGS, params) == str(run_dir)
    assert find_interrupted_run(str(tmp_path), ARGS) == str(run_dir)
    assert find_interrupted_run(str(tmp_path), {**ARGS, "seed": 4}, params) is None
    edited = {**params, "learning_rate": params["learning_rate"] * 3}
    assert find_interrupted_run(str(tmp_path), ARGS, edited) is None


def test_a_finished_run_is_never_resumed(tmp_path):
    params, _ = load_params("config", "tiny", {})
    run_dir = _interrupted_run(tmp_path, params)
    write_status(str(run_dir), "completed")
    assert find_interrupted_run(str(tmp_path), ARGS, params) is None
