"""The authors' fine-tuning command, end to end, on tiny fixtures; and its refusals."""

import glob
import json
import os
import re
import types

import keras
import numpy as np
import pytest

from experiments import resolve_experiment
from syrac.cli import finetune_parser
from syrac.common.errors import SyracError
from syrac.count.metrics import count_metrics
from syrac.fixtures import make_count_set
from tests.conftest import EXPERIMENT, make_encoder_run, run_wrapper, wrapper_exit_and_imports

SUMMARY = re.compile(
    r"^MAE (\d+\.\d\d) RMSE (\d+\.\d\d) NAE (\d+\.\d\d\d|n/a)( \(\d+ of \d+ images have no one.*\))? "
    r"on bench, N=2$")
TEST_IMAGES = 4
TF_LOG_LINE = re.compile(r"^[IWEF]\d{4} ")
RESULT_FIELDS = {
    "image_paths", "counts", "predictions", "patch_predictions", "mae", "mse", "rmse", "r2",
    "n", "N", "encoder_path", "train_data", "test_data", "config", "figures", "created",
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """``RUNS`` holding ``MODEL/best_model_01.keras`` and ``MODEL/hyperparams.json``."""
    runs_dir = tmp_path_factory.mktemp("runs")
    make_encoder_run(runs_dir / "MODEL")
    return runs_dir


@pytest.fixture(scope="module")
def count_data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data")
    make_count_set(str(folder), name="synth", images=6)
    make_count_set(str(folder), name="bench", images=TEST_IMAGES, split="test")
    # A count set with a negative count, its images real.
    make_count_set(str(folder), name="negative", images=2)
    path = folder / "negative" / "annotations.json"
    entries = json.loads(path.read_text())
    entries[1]["count"] = -3
    path.write_text(json.dumps(entries))
    return folder


def command(count_data, runs, **changes):
    options = {
        "--experiment": EXPERIMENT,
        "--data_dir": str(count_data),
        "--train_data": "synth",
        "--test_data": "bench",
        "--N": "2",
        "--experiment_path": str(runs),
        "--model_path": "MODEL/best_model_01.keras",
        "--params_dir": "./config/",
        "--params": "tiny",
    }
    options.update(changes)
    argv = []
    for key, value in options.items():
        if value is None:
            continue
        argv.extend([key, *value] if isinstance(value, list) else [key, value])
    return argv


def run_finetune(argv):
    return run_wrapper("finetune_wrapper.py", *argv)


def program_lines(stderr):
    """stderr without TensorFlow's start-up logging, which TF_CPP_MIN_LOG_LEVEL cannot silence."""
    return [
        line
        for line in stderr.splitlines()
        if line.strip()
        and not line.startswith("WARNING: All log messages before absl::InitializeLog()")
        and not TF_LOG_LINE.match(line)
    ]


def run_in_process(argv):
    args = finetune_parser().parse_args(argv)
    resolve_experiment(args.experiment, prefix="finetuning/").run(args)


def output_folder(runs):
    return runs / "MODEL" / "best_model_01" / "noisy_synth_regression"


@pytest.fixture(scope="module")
def seed_run(count_data, runs):
    """The seed command, as a researcher types it, run once for the tests below."""
    completed = run_finetune(command(count_data, runs))
    results = sorted(glob.glob(str(output_folder(runs) / "results.*.json")))
    return completed, results


@pytest.mark.slow
def test_seed_command_succeeds_with_a_summary_line(seed_run):
    completed, results = seed_run
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "Traceback" not in completed.stderr
    last_line = completed.stdout.strip().splitlines()[-1]
    match = SUMMARY.match(last_line)
    assert match, last_line
    document = json.loads(open(results[0]).read())
    assert float(match.group(1)) == pytest.approx(document["mae"], abs=0.006)
    assert float(match.group(2)) == pytest.approx(document["rmse"], abs=0.006)
    assert float(match.group(3)) == pytest.approx(document["nae"], abs=0.0006)
    counts, predictions = np.array(document["counts"]), np.array(document["predictions"])
    people = counts > 0
    assert document["nae"] == pytest.approx(
        np.mean(np.abs(predictions[people] - counts[people]) / counts[people]))
    assert document["empty_images"] == int(np.sum(~people))


@pytest.mark.slow
def test_results_file_holds_per_image_and_per_patch_predictions(seed_run, count_data):
    _, results = seed_run
    assert len(results) == 1
    assert re.search(r"results\.\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d\.json$", results[0])
    document = json.loads(open(results[0]).read())
    assert RESULT_FIELDS <= set(document)
    assert document["N"] == 2
    assert document["train_data"] == "synth" and document["test_data"] == "bench"
    assert document["encoder_path"].endswith(os.path.join("MODEL", "best_model_01.keras"))
    annotations = json.loads((count_data / "bench" / "annotations.json").read_text())["test"]
    assert document["counts"] == [float(entry["count"]) for entry in annotations]
    assert [os.path.relpath(p, count_data) for p in document["image_paths"]] == [
        entry["image"] for entry in annotations
    ]
    patches = np.array(document["patch_predictions"])
    assert patches.shape == (TEST_IMAGES, 4)
    assert np.all(patches >= 0)  # non-negative weights on non-negative (ReLU-pooled) features
    np.testing.assert_allclose(patches.sum(axis=1), document["predictions"])
    expected = count_metrics(document["predictions"], document["counts"])
    for key in ("mae", "mse", "rmse", "nae", "n", "empty_images"):
        assert document[key] == pytest.approx(expected[key])
    assert document["rmse"] == pytest.approx(np.sqrt(document["mse"]))
    config = document["config"]
    assert config["params"]["input_shape"] == [32, 48, 3]
    assert config["params"]["eval_batch_size"] == 8
    assert config["params_file"].endswith("tiny.yaml")


@pytest.mark.slow
def test_figures_and_probe_are_written(seed_run, runs):
    _, results = seed_run
    document = json.loads(open(results[0]).read())
    stamp = document["created"]
    for name in ("error_by_count", "predicted_vs_true", "patch_grids"):
        path = output_folder(runs) / f"{name}.{stamp}.png"
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert document["figures"][name] == str(path)
    probe = output_folder(runs) / "probe"
    weights = np.load(probe / "weights.npy", allow_pickle=False)
    description = json.loads((probe / "probe.json").read_text())
    assert weights.shape == (description["feature_dim"],)
    assert description["n_samples"] == 6
    assert description["train_data"] == "synth"
    assert description["encoder_path"] == document["encoder_path"]


@pytest.mark.slow
def test_running_again_keeps_the_earlier_probe_and_results(seed_run, count_data, runs, capsys):
    _, first_results = seed_run
    folder = output_folder(runs)
    before = glob.glob(str(folder / "results.*.json"))
    first_weights = np.load(folder / "probe" / "weights.npy")
    first_fit = json.loads((folder / "probe" / "probe.json").read_text())["fitted_at"]

    run_in_process(command(count_data, runs))
    assert SUMMARY.match(capsys.readouterr().out.strip().splitlines()[-1])

    archived = folder / "previous_probes" / first_fit
    np.testing.assert_array_equal(np.load(archived / "weights.npy"), first_weights)
    results = sorted(glob.glob(str(folder / "results.*.json")))
    assert len(results) == len(before) + 1 and first_results[0] in results


@pytest.mark.slow
def test_evaluate_stage_reuses_the_saved_probe(seed_run, count_data, runs, capsys):
    folder = output_folder(runs)
    before = (folder / "probe" / "probe.json").read_text()
    count = len(glob.glob(str(folder / "results.*.json")))
    run_in_process(command(count_data, runs, **{"--stage": "evaluate", "--train_data": None}))
    assert SUMMARY.match(capsys.readouterr().out.strip().splitlines()[-1])
    assert (folder / "probe" / "probe.json").read_text() == before
    assert len(glob.glob(str(folder / "results.*.json"))) == count + 1


@pytest.mark.slow
def test_evaluate_refuses_a_probe_fitted_with_other_preprocessing(seed_run, count_data, runs):
    argv = command(count_data, runs, **{"--stage": "evaluate", "--set": ["preprocessing=caffe"]})
    message = "fitted with preprocessing=resnet_v2.*resolves preprocessing=caffe"
    with pytest.raises(SyracError, match=message):
        run_in_process(argv)


@pytest.mark.slow
def test_saved_model_checkpoint(runs, count_data, capsys):
    """The authors' kind of checkpoint: a SavedModel folder, results inside it."""
    model = keras.models.load_model(runs / "MODEL" / "best_model_01.keras", compile=False)
    model.export(str(runs / "saved_encoder"), verbose=False)
    run_in_process(
        command(count_data, runs, **{"--model_path": "saved_encoder", "--N": "1"})
    )
    assert capsys.readouterr().out.strip().splitlines()[-1].endswith("on bench, N=1")
    results = glob.glob(str(runs / "saved_encoder" / "noisy_synth_regression" / "results.*.json"))
    document = json.loads(open(results[0]).read())
    assert document["encoder"]["kind"] == "saved_model"
    assert np.array(document["patch_predictions"]).shape == (TEST_IMAGES, 1)


def test_evaluate_without_a_fitted_probe(count_data, tmp_path):
    make_run = tmp_path / "MODEL"
    make_run.mkdir()
    (make_run / "best_model_01.keras").write_bytes(b"never read")
    argv = command(count_data, tmp_path, **{"--stage": "evaluate"})
    with pytest.raises(SyracError, match="no probe has been fitted for this encoder"):
        run_in_process(argv)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"--N": None}, "--N is required to evaluate"),
        ({"--data_dir": None}, "--data_dir is required"),
        ({"--train_data": None}, "--train_data is required to fit the probe"),
        ({"--test_data": None, "--stage": "fit", "--N": None, "--train_data": "nope"},
         "nope/annotations.json: no such file"),
    ],
)
def test_missing_options_are_named(count_data, runs, changes, message):
    with pytest.raises(SyracError, match=message):
        run_in_process(command(count_data, runs, **changes))


def test_encoder_settings_precedence():
    from syrac.count.settings import resolve_encoder_settings

    params = {"input_shape": [640, 853, 3], "preprocessing": "resnet_v2"}
    free = types.SimpleNamespace(input_shape=None, path="m")
    fixed = types.SimpleNamespace(input_shape=[64, 64, 3], path="m")
    trained = {"input_shape": [96, 128, 3], "preprocessing": "caffe"}

    resolve = resolve_encoder_settings
    settings, sources, notes = resolve(params, "p.yaml", {}, free, hyperparams=trained,
                                       hyperparams_file="h.json")
    assert settings == trained and sources["preprocessing"] == "h.json" and len(notes) == 2

    overrides = {"preprocessing": "resnet_v2"}
    settings, sources, _ = resolve(params, "p.yaml", overrides, free, hyperparams=trained,
                                   hyperparams_file="h.json")
    assert settings["preprocessing"] == "resnet_v2" and sources["preprocessing"] == "--set"

    settings, sources, _ = resolve(params, "p.yaml", {}, fixed, hyperparams={},
                                   hyperparams_file=None)
    assert settings["input_shape"] == [64, 64, 3]
    assert sources["input_shape"] == "the encoder's input layer"

    settings, _, notes = resolve(params, "p.yaml", {}, free, hyperparams={}, hyperparams_file=None)
    assert settings == params and notes == []


@pytest.mark.slow
@pytest.mark.parametrize("changes", [{"--test_data": "missing"}, {"--train_data": "negative"},
                                     {"--experiment_path": "/nowhere"}],
                         ids=["missing-annotations", "negative-count", "missing-checkpoint"])
def test_a_refusal_before_the_model_is_reached_does_not_wait_for_tensorflow(count_data, runs,
                                                                            changes):
    """A typo is answered in under a second: TensorFlow (4 CPU-s to import) is not loaded."""
    status, imported = wrapper_exit_and_imports("finetune_wrapper.py",
                                                *command(count_data, runs, **changes))
    assert (status, imported) == (2, [])


@pytest.mark.slow
@pytest.mark.parametrize(
    "changes, message",
    [
        ({"--test_data": "missing"}, r"missing/annotations\.json: no such file"),
        ({"--train_data": "negative"}, r"count must not be negative\. Received: count=-3"),
        ({"--N": "0"}, r"--N: must be a positive integer. Received: '0'"),
        ({"--N": "40"}, r"--N 40 is too large for the input shape 32x48"),
        ({"--model_path": "MODEL/unknown.keras"}, r"unknown\.keras: no such file or folder"),
    ],
    ids=["missing-annotations", "negative-count", "N=0", "N-too-large", "unknown-model"],
)
def test_bad_input_exits_with_one_line(count_data, runs, changes, message):
    completed = run_finetune(command(count_data, runs, **changes))
    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr
    lines = [line for line in program_lines(completed.stderr) if "error:" in line]
    assert len(lines) == 1, completed.stderr  # (argparse prints its usage above an option's)
    assert lines[0].startswith("finetune_wrapper.py: error: ")
    assert re.search(message, lines[0]), lines[0]
