"""Matching a command to an interrupted run folder."""

import json

import pytest

from syrac.common.config import load_params
from syrac.common.errors import SyracError
from syrac.rank.run_folder import UNFINISHED, RunFolder, find_interrupted_run, write_status

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


def test_a_run_folder_names_its_checkpoints_rows_and_status_in_one_place(tmp_path):
    folder = RunFolder(tmp_path)
    with pytest.raises(SyracError, match="wrote no encoder checkpoint"):
        folder.last_checkpoint()
    for name in ("best_model_02.keras", "best_model_10.keras", "best_model_01.keras",
                 "best_model_03.partial.keras", "best_model_x.keras", "notes.keras"):
        (tmp_path / name).write_bytes(b"")
    assert folder.checkpoints() == {1: folder.checkpoint(1), 2: folder.checkpoint(2),
                                    10: folder.checkpoint(10)}
    assert folder.last_checkpoint() == str(tmp_path / "best_model_10.keras")
    assert folder.checkpoint_epoch("best_model_07.keras") == 7
    (tmp_path / "results.csv").write_text("epoch,loss,val_loss\n0,1,0.9\n1,1,nan\n2,1,\n3,1,0.4\n")
    assert [row["epoch"] for row in folder.rows()] == ["0", "1", "2", "3"]
    assert folder.logged("val_loss") == {0: 0.9, 3: 0.4}  # 0-based, finite values only
    folder.write_status("running", epochs=4)
    folder.write_status("completed")
    assert folder.status()["state"] == "completed" and folder.status()["epochs"] == 4
