"""``python -m syrac demo``: the whole method on the toy world, end to end, at a tiny size."""

import glob
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from syrac.common.annotations import load_count_set
from syrac.common.config import validate
from syrac.rank.backbones import tiny_cnn
from syrac.rank.training import initial_encoder
from tests.conftest import REPO, run_wrapper, training_command

DEMO_ROWS = ("ranked", "imagenet", "untrained", "mean")


def run_demo(*arguments):
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([sys.executable, "-m", "syrac", "demo", *map(str, arguments)],
                          cwd=REPO, capture_output=True, text=True, env=environment, timeout=900)


@pytest.fixture(scope="module")
def local_imagenet_weights(tmp_path_factory):
    """A weights file of the tiny test network on disk, standing in for the ImageNet one (the
    demo runs here with ``model_name=tiny_cnn``; ResNet50's own weights file is loaded in
    tests/rank/test_model.py)."""
    path = tmp_path_factory.mktemp("weights") / "tiny_cnn_notop.weights.h5"
    keras.utils.set_random_seed(123)
    tiny_cnn(input_shape=(32, 43, 3)).save_weights(path)
    return path


@pytest.fixture(scope="module")
def quick_demo(tmp_path_factory, local_imagenet_weights):
    root = tmp_path_factory.mktemp("demo")
    arguments = ["--quick", "--size", 32, 43, "--set", "epochs=1", "model_name=tiny_cnn",
                 "--out", root / "out",
                 "--cache", root / "cache", "--figures_dir", root / "figures",
                 "--imagenet_weights", local_imagenet_weights]
    result = run_demo(*arguments)
    assert result.returncode == 0, result.stderr[-3000:]
    return root, arguments, result


@pytest.mark.slow
def test_quick_demo_prints_the_comparison_table(quick_demo):
    _, _, result = quick_demo
    lines = result.stdout.splitlines()
    header = lines.index("| predictor | MAE | RMSE | rank accuracy |")
    rows = [line for line in lines[header + 2: header + 6]]
    assert [row.split("|")[1].strip() for row in rows] == [
        "ranking-pre-trained encoder", "ImageNet encoder, before ranking",
        "same encoder, untrained (random init)", "predict the mean noisy label"]
    root, _, _ = quick_demo
    first_results = sorted(glob.glob(str(root / "out" / "results.*.json")))[0]  # this run's
    summary = json.load(open(first_results))["summary"]
    for row, key in zip(rows, DEMO_ROWS):  # the printed table is the recorded summary
        cells = [cell.strip() for cell in row.split("|")[2:5]]
        for cell, metric in zip(cells, ("mae", "rmse", "rank_accuracy")):
            assert float(cell) == pytest.approx(summary[key][metric]["mean"], abs=0.006)


@pytest.mark.slow
def test_quick_demo_writes_results_figures_and_runs(quick_demo):
    root, _, _ = quick_demo
    out = root / "out"
    results_file = sorted(glob.glob(str(out / "results.*.json")))[0]  # the fixture's run
    results = json.load(open(results_file))
    assert set(results["summary"]) == set(DEMO_ROWS)
    (seed,) = results["seeds"]
    data_dir = glob.glob(str(root / "cache" / "*" / "data"))[0]
    truth = np.array([count for _, count in load_count_set(data_dir, "toy_bench", "test")])
    labels = [label for _, label in load_count_set(data_dir, "toy_noisy")]
    expected_mae = np.mean(np.abs(truth - np.mean(labels)))
    assert results["summary"]["mean"]["mae"]["mean"] == pytest.approx(expected_mae)
    assert results["summary"]["mean"]["rank_accuracy"]["mean"] == 0.5
    for row in ("ranked", "imagenet", "untrained"):
        record = seed["rows"][row]
        evaluation = json.load(open(record["results"]))  # the finetune experiment's own file
        assert evaluation["mae"] == pytest.approx(record["mae"])
        assert evaluation["counts"] == truth.tolist()
        assert os.path.exists(evaluation["figures"]["predicted_vs_true"])
    hyperparams = json.load(open(os.path.join(seed["run_dir"], "hyperparams.json")))
    assert hyperparams["weights"].endswith("tiny_cnn_notop.weights.h5")  # ranking from "ImageNet"
    assert hyperparams["input_shape"] == [32, 43, 3]
    for name in ("toy_world_samples.png", "demo_results.png"):
        with open(root / "figures" / name, "rb") as handle:
            assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
    assert glob.glob(str(out / "results.*.md")) and glob.glob(str(out / "world_samples.*.png"))


@pytest.mark.slow
def test_rerunning_the_demo_reuses_finished_seeds_and_keeps_old_results(quick_demo):
    root, arguments, _ = quick_demo
    runs_before = glob.glob(str(root / "out" / "runs" / "*" / "*" / "*" / "*"))
    results_before = sorted(glob.glob(str(root / "out" / "results.*.json")))
    result = run_demo(*arguments)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Seed 0: reusing the finished run" in result.stdout
    assert "Toy world: reusing" in result.stdout
    assert glob.glob(str(root / "out" / "runs" / "*" / "*" / "*" / "*")) == runs_before
    results_after = sorted(glob.glob(str(root / "out" / "results.*.json")))
    assert set(results_before) < set(results_after)
    first, last = (json.load(open(path))["summary"] for path in (results_after[0],
                                                                 results_after[-1]))
    assert first == last


@pytest.mark.slow
def test_untrained_encoder_is_the_one_pre_training_starts_from(data_dir, tmp_path):
    """With a vanishing learning rate, pre-training leaves every kernel where it started."""
    runs = tmp_path / "runs"
    # Adam's steps are about lr in size; 1e-30 is lost in float32 rounding of weights ~1e-2.
    command = training_command(data_dir, runs, "frozen", "--set", "epochs=1",
                               "learning_rate=1.0e-30")
    result = run_wrapper("train_wrapper.py", *command)
    assert result.returncode == 0, result.stderr[-3000:]
    (run_dir,) = (runs / "frozen" / "rank" / "0").iterdir()
    params = validate(json.load(open(run_dir / "hyperparams.json")))
    trained = keras.models.load_model(run_dir / "best_model_01.keras")
    untrained = initial_encoder(params, seed=7)
    kernels = [(a, b) for a, b in zip(trained.weights, untrained.weights) if "kernel" in a.path]
    assert len(kernels) == len(untrained.trainable_weights) // 3 >= 2  # every convolution
    for before, after in kernels:
        np.testing.assert_array_equal(before.numpy(), after.numpy())
    other = initial_encoder(params, seed=8)
    assert not np.array_equal(other.weights[0].numpy(), untrained.weights[0].numpy())


@pytest.mark.slow
@pytest.mark.parametrize("arguments, message", [
    (["--seeds", "1", "1"], "--seeds must be distinct"),
    (["--N", "0"], "--N must be a positive integer"),
    (["--size", "8", "8"], "--size must be at least"),
    (["--imagenet_weights", "/nowhere/resnet.h5"], "/nowhere/resnet.h5: no such file"),
    (["--set", "epochs=zero"], "epochs"),
    (["--noise_scale", "-1"], "count noise scale must be a number >= 0"),
])
def test_nonsense_demo_options_are_one_line_and_write_nothing(tmp_path, arguments, message):
    result = run_demo("--quick", "--out", tmp_path / "out", "--cache", tmp_path / "cache",
                      *arguments)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr  # TensorFlow not loaded
    assert message in result.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "cache").exists()
