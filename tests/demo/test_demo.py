"""``python -m syrac demo``: the whole method on the toy world, end to end, at a tiny size."""

import glob
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import yaml

from syrac.common.annotations import load_count_set
from syrac.common.config import validate
from syrac.rank.backbones import tiny_cnn
from syrac.rank.training import initial_encoder
from tests.conftest import REPO, run_wrapper, training_command

DEMO_ROWS = ("ranking-pre-trained encoder", "ImageNet encoder, before ranking",
             "same encoder, untrained (random init)", "predict the mean noisy label")


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


def _printed_table(stdout):
    """The header and ``{row: [cells]}`` of the first table printed (the main table)."""
    lines = stdout.splitlines()
    header = min(i for i, line in enumerate(lines) if line.startswith("| encoder |"))
    rows = []
    for line in lines[header + 2:]:
        if not line.startswith("| "):
            break
        rows.append(line.split("|")[1:-1])
    return lines[header], {row[0].strip(): [cell.strip() for cell in row[1:]] for row in rows}


@pytest.mark.slow
def test_quick_demo_prints_the_table_of_its_recipe(quick_demo):
    root, _, result = quick_demo
    header, printed = _printed_table(result.stdout)
    assert header == ("| encoder | Toy bench MAE | Toy bench RMSE | Toy bench NAE | "
                      "rank accuracy (toy_rank val) |")
    assert list(printed) == list(DEMO_ROWS)
    document = json.load(open(root / "out" / "table.json"))
    for row in document["rows"]:  # the printed table is the table's, from the same cells
        cells = printed[row["encoder"]]
        assert cells == [f"{row['mae']['mean']:.2f}", f"{row['rmse']['mean']:.2f}",
                         f"{row['nae']['mean']:.3f}", f"{row['rank_accuracy']['mean']:.3f}"]


@pytest.mark.slow
def test_quick_demo_writes_its_recipe_cells_figures_and_runs(quick_demo,
                                                            local_imagenet_weights):
    root, _, _ = quick_demo
    out = root / "out"
    document = json.load(open(out / "table.json"))
    rows = {row["encoder"]: row for row in document["rows"]}
    data_dir = glob.glob(str(root / "cache" / "*" / "data"))[0]
    truth = np.array([count for _, count in load_count_set(data_dir, "toy_bench", "test")])
    labels = [label for _, label in load_count_set(data_dir, "toy_noisy")]
    mean = rows["predict the mean noisy label"]
    assert mean["mae"]["mean"] == pytest.approx(np.mean(np.abs(truth - np.mean(labels))))
    assert mean["rank_accuracy"]["mean"] == 0.5
    for name in DEMO_ROWS[:3]:
        (source,) = rows[name]["sources"]
        cell = json.load(open(source))
        assert cell["counts"] == truth.tolist() and cell["mae"] == rows[name]["mae"]["mean"]
    encoders = {name: json.load(open(rows[name]["sources"][0]))["encoder_path"]
                for name in DEMO_ROWS[:3]}
    (run_dir,) = glob.glob(str(out / "runs" / "*" / "toy_rank" / "0" / "*"))
    assert os.path.dirname(encoders[DEMO_ROWS[0]]) == run_dir
    hyperparams = json.load(open(os.path.join(run_dir, "hyperparams.json")))
    assert hyperparams["weights"].endswith("tiny_cnn_notop.weights.h5")  # ranking from "ImageNet"
    assert hyperparams["input_shape"] == [32, 43, 3]
    imagenet, untrained = (keras.models.load_model(encoders[name]) for name in DEMO_ROWS[1:3])
    stand_in = tiny_cnn(input_shape=(32, 43, 3))
    stand_in.load_weights(local_imagenet_weights)  # the "ImageNet" row starts from the file
    np.testing.assert_array_equal(imagenet.weights[0].numpy(), stand_in.weights[0].numpy())
    assert not np.array_equal(untrained.weights[0].numpy(), stand_in.weights[0].numpy())
    recipe = yaml.safe_load(open(out / "recipe.yaml"))
    assert recipe["set"][-1].startswith("weights=") and recipe["toy_world"]["height"] == 32
    for name in ("toy_world_samples.png", "demo_results.png"):
        with open(root / "figures" / name, "rb") as handle:
            assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
    assert glob.glob(str(out / "world_samples.*.png")) and (out / "table.md").exists()


@pytest.mark.slow
def test_rerunning_the_demo_reuses_every_run_and_cell(quick_demo):
    root, arguments, first = quick_demo
    runs_before = glob.glob(str(root / "out" / "runs" / "*" / "*" / "*" / "*"))
    cells_before = {p: os.stat(p).st_mtime_ns for p in glob.glob(str(root / "out" / "cells" / "*"))}
    result = run_demo(*arguments)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "seed 0: reusing the finished pre-training" in result.stdout
    assert "Toy world: reusing" in result.stdout
    assert "0 probe(s) and cell(s) computed" in result.stdout
    assert glob.glob(str(root / "out" / "runs" / "*" / "*" / "*" / "*")) == runs_before
    assert {p: os.stat(p).st_mtime_ns
            for p in glob.glob(str(root / "out" / "cells" / "*"))} == cells_before
    assert _printed_table(result.stdout) == _printed_table(first.stdout)


@pytest.mark.slow
def test_the_table_command_on_the_demos_recipe_prints_the_demos_table(quick_demo):
    """One driver: ``syrac table`` on the recipe the demo wrote finds every cell made."""
    root, _, first = quick_demo
    out = root / "out"
    result = subprocess.run(
        [sys.executable, "-m", "syrac", "table", str(out / "recipe.yaml"), "--out", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=600,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "0 probe(s) and cell(s) computed" in result.stdout
    assert _printed_table(result.stdout) == _printed_table(first.stdout)


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
    (["--N", "0"], "--N: must be a positive integer"),
    (["--size", "8", "8"], "--size must be at least"),
    (["--size", "20", "20"], "--size must be at least 32 32"),
    (["--imagenet_weights", "/nowhere/resnet.h5"], "/nowhere/resnet.h5: no such file"),
    (["--set", "epochs=zero"], "epochs"),
    (["--noise_scale", "-1"], "count noise scale must be a number >= 0"),
])
def test_nonsense_demo_options_are_one_line_and_write_nothing(tmp_path, arguments, message):
    result = run_demo("--quick", "--out", tmp_path / "out", "--cache", tmp_path / "cache",
                      *arguments)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and message in errors[0], result.stderr
    assert "oneDNN" not in result.stderr and "Traceback" not in result.stderr  # no TensorFlow
    assert not (tmp_path / "out").exists() and not (tmp_path / "cache").exists()
