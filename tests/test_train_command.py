"""The authors' seed pre-training command end to end: run folder, bad input, resume, mirrored."""

import re
import json
import subprocess
import sys

import keras
import pytest

import train_wrapper
from syrac.fixtures import make_ranking_set
from syrac.rank.callbacks import ResumableEarlyStopping
from syrac.rank.run_folder import RunFolder
from tests.conftest import REPO, run_wrapper, training_command, wrapper_exit_and_imports



@pytest.mark.slow
def test_seed_command_writes_the_authors_run_folder(pretrained_run):
    assert pretrained_run.parent.name == "0" and pretrained_run.parent.parent.name == "rank"
    hyperparams = json.loads((pretrained_run / "hyperparams.json").read_text())
    assert hyperparams["input_shape"] == [32, 48, 3] and hyperparams["epochs"] == 1
    args = json.loads((pretrained_run / "args.json").read_text())
    assert args["seed"] == 7 and args["set"] == ["epochs=1"] and args["index"] == 0
    rows = RunFolder(pretrained_run).rows()
    assert [row["epoch"] for row in rows] == ["0"]
    assert set(rows[0]) == {"epoch", "loss", "rank_accuracy", "val_loss", "val_rank_accuracy"}
    encoder = keras.models.load_model(pretrained_run / "best_model_01.keras")
    assert encoder.output.shape == (None, 16)  # tiny_cnn, config/tiny.yaml's test network
    assert list((pretrained_run / "logs").iterdir())
    status = json.loads((pretrained_run / "status.json").read_text())
    assert status["state"] == "completed" and status["optimizer_steps"] == 3
    assert not (pretrained_run / "backup").exists()


def _run_in_process(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        train_wrapper.main(argv)
    return exit_info.value.code, capsys.readouterr().err


@pytest.mark.parametrize("mutation, extra, message", [
    (None, ["--set", "learning_rat=1"], "unknown hyper-parameter"),
    (None, ["--filter_classes", "removed", "removed_more"], "empty after --filter_classes"),
    ("malformed", [], "malformed JSON"),
    ("missing_image", [], "image file(s) not found"),
    ("same_pair", [], "same source_image and target_image"),
])
def test_bad_input_is_one_clear_message_and_nothing_written(tmp_path, capsys, mutation, extra, message):
    make_ranking_set(str(tmp_path / "data"), "rank", train_pairs=4, val_pairs=2)
    annotations = tmp_path / "data" / "rank" / "annotations.json"
    document = json.loads(annotations.read_text())
    if mutation == "malformed":
        annotations.write_text(annotations.read_text()[:-10])
    elif mutation == "missing_image":
        document["val"][0]["source_image"] = "rank/images/missing.jpg"
        annotations.write_text(json.dumps(document))
    elif mutation == "same_pair":
        document["train"][2]["target_image"] = document["train"][2]["source_image"]
        annotations.write_text(json.dumps(document))
    code, err = _run_in_process(training_command(tmp_path / "data", tmp_path / "runs", "x", *extra), capsys)
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()


def test_unknown_experiment_lists_the_known_ones(capsys):
    code, err = _run_in_process(["--experiment", "training/../../etc"], capsys)
    assert code == 2 and "training/baseline" in err and "unknown experiment" in err
    code, err = _run_in_process(["--experiment", "training/baseline"], capsys)
    assert code == 2 and "--dataset" in err and "--data_dir" in err


@pytest.mark.slow
def test_a_refusal_before_training_does_not_wait_for_tensorflow(tmp_path):
    """A typo is answered in a fraction of a second: TensorFlow (4 CPU-s) is not imported."""
    make_ranking_set(str(tmp_path / "data"), "rank", train_pairs=4, val_pairs=2)
    (tmp_path / "data" / "rank" / "annotations.json").write_text("{")
    for arguments in (["--experiment", "training/baseline"],  # required options missing
                      training_command(tmp_path / "nowhere", tmp_path / "runs"),
                      training_command(tmp_path / "data", tmp_path / "runs")):  # malformed JSON
        assert wrapper_exit_and_imports("train_wrapper.py", *arguments) == (2, [])
    assert not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_errors_reach_the_terminal_without_traceback(tmp_path):
    result = run_wrapper("train_wrapper.py", *training_command(tmp_path / "nowhere", tmp_path / "runs"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "annotations.json: no such file" in result.stderr


def test_early_stopping_replays_logged_history(tmp_path):
    results = tmp_path / "results.csv"
    results.write_text("epoch,loss,val_loss\n0,1,1.0\n1,1,0.5\n2,1,0.6\n3,1,0.7\n")
    stopper = ResumableEarlyStopping(RunFolder(tmp_path), 4, monitor="val_loss", patience=3,
                                     mode="min")
    stopper.set_model(keras.Sequential())
    stopper.on_train_begin()
    assert stopper.best == 0.5 and stopper.wait == 2
    stopper.on_epoch_end(4, {"val_loss": 0.9})
    assert stopper.model.stop_training and stopper.triggered


@pytest.mark.slow
def test_mirrored_step_equals_single_device_step():
    result = subprocess.run([sys.executable, str(REPO / "tests" / "scripts" / "mirrored_equivalence.py")],
                            cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["replicas"] == 2
    assert report["mirrored_loss"] == pytest.approx(report["single_loss"], rel=1e-6)
    assert report["max_update"] > 1e-5
    assert report["max_update_difference"] < 1e-5


@pytest.mark.slow
def test_corrupt_image_during_training_is_named(tmp_path, capsys):
    make_ranking_set(str(tmp_path / "data"), "rank", train_pairs=4, val_pairs=2)
    document = json.loads((tmp_path / "data" / "rank" / "annotations.json").read_text())
    broken = tmp_path / "data" / document["train"][1]["source_image"]
    content = broken.read_bytes()
    broken.write_bytes(content[: len(content) // 2])  # a readable JPEG header, truncated data
    code, err = _run_in_process(training_command(tmp_path / "data", tmp_path / "runs", "x",
                                                 "--run_eagerly"), capsys)
    assert code == 2 and "cannot be decoded" in err and str(broken) in err


@pytest.mark.slow
def test_mixed_bfloat16_trains_through_the_seed_command_and_its_checkpoint_counts(data_dir, tmp_path):
    result = run_wrapper("train_wrapper.py", *training_command(
        data_dir, tmp_path / "runs", "bf16", "--set", "epochs=1", "--set", "precision=mixed_bfloat16"))
    assert result.returncode == 0, result.stderr[-2000:]
    (run_dir,) = (tmp_path / "runs" / "bf16" / "rank" / "0").iterdir()
    assert json.loads((run_dir / "hyperparams.json").read_text())["precision"] == "mixed_bfloat16"
    rows = (run_dir / "results.csv").read_text().splitlines()
    assert len(rows) == 2 and "nan" not in rows[1].lower()
    encoder = keras.models.load_model(run_dir / "best_model_01.keras", compile=False)
    assert {layer.dtype_policy.name for layer in encoder.layers} == {"float32"}
    counted = run_wrapper("finetune_wrapper.py", "--experiment", "finetuning/unsupervised/noisy_synth_regress",
                          "--experiment_path", run_dir, "--model_path", "best_model_01.keras",
                          "--data_dir", data_dir, "--train_data", "synth", "--test_data", "bench", "--N", "1",
                          "--params_dir", "./config/", "--params", "tiny")
    assert counted.returncode == 0, counted.stderr[-2000:]
    assert re.search(r"MAE \d+\.\d\d RMSE \d+\.\d\d", counted.stdout)
