"""The tests' shared helpers and fixtures, in one place: tiny datasets in the real formats, one
real pre-training run, an encoder run folder for the Count step, the tiny Stable Diffusion 3
preset and the real source images of the synthesis tests (each built once per session)."""

import json
import os
import pathlib
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402
import tifffile  # noqa: E402

from syrac.fixtures import crowd_image, make_count_set, make_ranking_set  # noqa: E402
from syrac.rank.backbones import build_encoder  # noqa: E402
from syrac.synth.image_io import read_image  # noqa: E402
from syrac.synth.manifest import read_records  # noqa: E402
from syrac.synth.tiny_preset import build_tiny_preset  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[1]


def run_wrapper(script, *arguments, env=None, timeout=900):
    """Run ``python <script> <arguments>`` from the repository root; return the completed process."""
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", **(env or {}))
    return subprocess.run(
        [sys.executable, str(REPO / script), *map(str, arguments)],
        cwd=REPO, capture_output=True, text=True, env=environment, timeout=timeout,
    )


_REPORT_IMPORTS = """import runpy, sys
sys.argv = sys.argv[1:]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
except SystemExit as stop:
    print("exit", stop.code, "imported", *sorted({"tensorflow", "keras"} & set(sys.modules)))
"""


def wrapper_exit_and_imports(script, *arguments):
    """Run ``python <script> <arguments>`` as :func:`run_wrapper` does, in a process that says
    at exit whether it imported TensorFlow or Keras: ``(exit status, [those imported])``."""
    completed = subprocess.run(
        [sys.executable, "-c", _REPORT_IMPORTS, str(REPO / script), *map(str, arguments)],
        cwd=REPO, capture_output=True, text=True, timeout=300,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    words = completed.stdout.strip().splitlines()[-1].split()
    assert words[:1] == ["exit"] and words[2] == "imported", completed.stdout + completed.stderr
    return int(words[1]), words[3:]


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


# ----- the Count step

EXPERIMENT = "finetuning/unsupervised/noisy_synth_regress"


def make_encoder_run(folder):
    """A pre-training run folder as the Count step reads it: ``best_model_01.keras`` (a random
    tiny encoder) + ``hyperparams.json``."""
    folder.mkdir(parents=True, exist_ok=True)
    build_encoder("tiny_cnn", [32, 48, 3], None).save(folder / "best_model_01.keras")
    (folder / "hyperparams.json").write_text(
        json.dumps({"input_shape": [32, 48, 3], "preprocessing": "resnet_v2",
                    "model_name": "tiny_cnn", "weights": None})
    )
    return folder


# ----- counting people's own images and videos (syrac count / export)

COUNTER_SHAPE = [32, 48, 3]
# (file name, export format, extra options): the same counter for each runtime.
COUNTER_FILES = {
    "counter.onnx": ("onnx", []),
    "counter.tflite": ("litert", []),
    "fixed.onnx": ("onnx", ["--input_size", "32", "48"]),
    "fixed.tflite": ("litert", ["--input_size", "32", "48"]),
}


@pytest.fixture(scope="session")
def counter_files(tmp_path_factory):
    """A tiny counter (random tiny encoder, non-negative head, N=2) as ``counter.keras`` and
    exported by ``syrac export`` for ONNX Runtime and LiteRT, at any input size and fixed."""
    import keras

    from syrac.__main__ import main as syrac_main
    from syrac.count.counter import PatchCounter

    root = tmp_path_factory.mktemp("counters")
    keras.utils.set_random_seed(5)
    encoder = build_encoder("tiny_cnn", COUNTER_SHAPE, None)
    weights = np.random.default_rng(0).uniform(0.0, 10.0, int(encoder.output_shape[-1]))
    counter = PatchCounter(encoder, n=2, image_shape=COUNTER_SHAPE, head_weights=weights)
    counter(np.zeros([1, *COUNTER_SHAPE], np.float32))
    counter.save(root / "counter.keras")
    for name, (format_, extra) in COUNTER_FILES.items():
        assert syrac_main(["export", "--model", str(root / "counter.keras"), "--N", "2",
                           "--format", format_, "--out", str(root / name), *extra]) == 0
    return root


def crowd_pngs(folder, sizes=((40, 56), (64, 48), (32, 48)), seed=3):
    """PNG crowd images of the given sizes (lossless: every decoder sees the same pixels)."""
    from PIL import Image

    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for index, size in enumerate(sizes):
        paths.append(folder / f"crowd_{index}.png")
        Image.fromarray(crowd_image(rng, 3 + 4 * index, *size)).save(paths[-1])
    return paths


def read_counts(run_folder):
    """``counts.json`` of a ``syrac count`` run folder."""
    return json.loads((pathlib.Path(run_folder) / "counts.json").read_text())


# ----- synthesis

# Small and fast: 2 diffusion steps at 32x48, 4 sources x 2 strengths = 8 pairs.
MODEL = ["--size", "32x48", "--steps", "2", "--guidance", "3.0", "--quiet"]
STRENGTHS = ["--strengths", "0.5", "0.9"]
SOURCE_SIZES = {"a": (40, 56), "b": (50, 30), "night/c": (36, 36), "d": (33, 47)}


@pytest.fixture(scope="session")
def preset(tmp_path_factory):
    return str(build_tiny_preset(str(tmp_path_factory.mktemp("tiny_sd3") / "preset")))


@pytest.fixture(scope="session")
def sources(tmp_path_factory):
    """Four real images: JPEG, PNG, grayscale PNG in a sub-folder, TIFF; all sizes differ."""
    folder = tmp_path_factory.mktemp("real")
    rng = np.random.default_rng(0)
    images = {key: crowd_image(rng, 6, *size) for key, size in SOURCE_SIZES.items()}
    tf.io.write_file(str(folder / "a.jpg"), tf.io.encode_jpeg(images["a"], quality=95))
    tf.io.write_file(str(folder / "b.png"), tf.io.encode_png(images["b"]))
    (folder / "night").mkdir()
    tf.io.write_file(str(folder / "night" / "c.png"), tf.io.encode_png(images["night/c"][..., :1]))
    tifffile.imwrite(folder / "d.tif", images["d"])
    return folder


def start_synth(*arguments):
    """Start ``python -m syrac synth ...`` in a subprocess, as a researcher would run it."""
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.Popen(
        [sys.executable, "-m", "syrac", "synth", *map(str, arguments)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment,
    )


def removal_arguments(sources, data_dir, preset, out, *extra):
    return ["remove-people", "--images", sources, "--data_dir", data_dir, "--out", out,
            "--preset", preset, *MODEL, *STRENGTHS, *extra]


def count_arguments(data_dir, preset, out, *extra):
    return ["noisy-counts", "--counts", "1", "5", "--per-count", "3", "--data_dir", data_dir,
            "--out", out, "--preset", preset, *MODEL, *extra]


def pixels(path):
    return np.round(read_image(str(path)) * 255).astype(int)


def dataset_files(folder, manifests=True):
    return sorted(
        os.path.relpath(os.path.join(root, name), folder)
        for root, _, names in os.walk(folder) for name in names
        if manifests or not name.startswith("manifest.")
    )


def assert_same_dataset(folder, reference):
    """Same files, same annotations, same manifest facts, same pixels.

    Pixels are equal up to float rounding: an image batched with other images goes through
    the same math in another order (~1e-5), which JPEG encoding can turn into a few grey levels.
    """
    assert dataset_files(folder, manifests=False) == dataset_files(reference, manifests=False)
    for name in ("annotations.json", "job.json"):
        assert json.loads((folder / name).read_text()) == json.loads((reference / name).read_text())
    records, expected = (read_records(str(f)) for f in (folder, reference))
    ignored = {"created", "shard", "preset"}
    assert {k: {f: v for f, v in r.items() if f not in ignored} for k, r in records.items()} == \
        {k: {f: v for f, v in r.items() if f not in ignored} for k, r in expected.items()}
    for record in expected.values():
        image = os.path.relpath(record["image"], folder.name)
        difference = np.abs(pixels(folder / image) - pixels(reference / image))
        assert difference.max() <= 4 and difference.mean() < 0.1, record["item"]


