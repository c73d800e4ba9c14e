"""Counting any image: the exported counter (both formats) and ``python -m syrac count``."""

import json
import os
import shutil
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import finetune_wrapper
from syrac.__main__ import main as syrac_main
from syrac.common.images import decode_image
from syrac.count.counter import PatchCounter
from syrac.fixtures import make_count_set
from syrac.rank.backbones import build_encoder
from tests.conftest import REPO

SHAPE = [32, 48, 3]


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """A tiny encoder checkpoint whose probe finetune_wrapper.py fitted and evaluated at N=2."""
    root = tmp_path_factory.mktemp("counter")
    data = root / "data"
    make_count_set(str(data), "synth", images=6)
    make_count_set(str(data), "bench", images=4, split="test", seed=2, size=(60, 75))
    run = root / "runs" / "MODEL"
    run.mkdir(parents=True)
    keras.utils.set_random_seed(3)
    build_encoder("tiny_cnn", SHAPE, None).save(run / "best_model_01.keras")
    (run / "hyperparams.json").write_text(json.dumps(
        {"input_shape": SHAPE, "preprocessing": "resnet_v2", "model_name": "tiny_cnn",
         "weights": None}))
    finetune_wrapper.main([
        "--experiment", "finetuning/unsupervised/noisy_synth_regress", "--data_dir", str(data),
        "--train_data", "synth", "--test_data", "bench", "--N", "2",
        "--experiment_path", str(root / "runs"), "--model_path", "MODEL/best_model_01.keras",
        "--params_dir", str(REPO / "config"), "--params", "tiny"])
    (results,) = (run / "best_model_01" / "noisy_synth_regression").glob("results.*.json")
    return root, run / "best_model_01.keras", json.loads(results.read_text())


def _exported(root, checkpoint, name, *extra):
    out = root / name
    if not out.exists():
        assert syrac_main(["export", "--model", str(checkpoint), "--N", "2", "--out", str(out),
                           *extra]) == 0
    return out


@pytest.mark.slow
def test_keras_counter_gives_the_finetune_predictions(fitted):
    root, checkpoint, results = fitted
    counter = keras.models.load_model(_exported(root, checkpoint, "counter.keras"))
    assert isinstance(counter, PatchCounter) and counter.n == 2
    for path, expected, patches in zip(results["image_paths"], results["predictions"],
                                       results["patch_predictions"]):
        outputs = counter(decode_image(tf.constant(path)).numpy()[np.newaxis])
        np.testing.assert_allclose(float(outputs["count"][0]), expected, rtol=1e-4)
        np.testing.assert_allclose(outputs["patch_counts"][0].numpy(), patches, rtol=1e-4,
                                   atol=1e-6)


@pytest.mark.slow
def test_saved_model_counter_takes_image_bytes(fitted):
    root, checkpoint, results = fitted
    folder = _exported(root, checkpoint, "counter_saved_model", "--format", "saved_model")
    serving = tf.saved_model.load(str(folder)).signatures["serving_default"]
    encoded = tf.constant([open(path, "rb").read() for path in results["image_paths"]])
    outputs = serving(image_bytes=encoded)
    np.testing.assert_allclose(outputs["count"].numpy(), results["predictions"], rtol=1e-4)
    assert outputs["patch_counts"].shape == (len(results["image_paths"]), 4)


@pytest.mark.slow
def test_export_refuses_to_overwrite_and_needs_a_probe(fitted, tmp_path, capsys):
    root, checkpoint, _ = fitted
    kept = tmp_path / "kept.keras"
    kept.write_bytes(b"mine")
    with pytest.raises(SystemExit):
        syrac_main(["export", "--model", str(checkpoint), "--N", "2", "--out", str(kept)])
    assert "already exists" in capsys.readouterr().err and kept.read_bytes() == b"mine"
    bare = tmp_path / "bare.keras"
    shutil.copy(checkpoint, bare)
    with pytest.raises(SystemExit):
        syrac_main(["export", "--model", str(bare), "--N", "2", "--out", str(tmp_path / "c.keras")])
    assert "no count probe fitted for this encoder" in capsys.readouterr().err


@pytest.mark.slow
def test_count_folders_globs_and_a_corrupt_file(fitted, tmp_path, capsys):
    root, checkpoint, results = fitted
    counter_path = _exported(root, checkpoint, "counter.keras")
    photos = tmp_path / "photos"
    (photos / "sub").mkdir(parents=True)
    paths = results["image_paths"]
    shutil.copy(paths[0], photos / "a.jpg")
    shutil.copy(paths[1], photos / "sub" / "b.jpg")
    (photos / "broken.jpg").write_bytes(open(paths[2], "rb").read()[:150])
    (photos / "notes.txt").write_text("not an image, left alone")
    (photos / "sub" / "text.JPG").write_text("named like a photo, holding text")
    loose = tmp_path / "loose"
    loose.mkdir()
    shutil.copy(paths[3], loose / "c.jpg")
    out = tmp_path / "counted"
    with pytest.raises(SystemExit) as exited:
        syrac_main(["count", str(photos), str(loose / "*.jpg"), "--model", str(counter_path),
                    "--out", str(out), "--quiet"])
    assert exited.value.code == 2
    captured = capsys.readouterr()
    assert "broken.jpg" in captured.err and "2 file(s) could not be counted" in captured.err
    assert "text.JPG (named like an image, but its bytes are neither an image" in captured.err
    assert "notes.txt" not in captured.err
    (run,) = out.iterdir()
    document = json.loads((run / "counts.json").read_text())
    assert sorted(os.path.basename(f["path"]) for f in document["failed"]) == [
        "broken.jpg", "text.JPG"]
    counted = {os.path.basename(r["path"]): r["count"] for r in document["images"]}
    assert set(counted) == {"a.jpg", "b.jpg", "c.jpg"}
    expected = dict(zip(["a.jpg", "b.jpg", "c.jpg"],
                        [results["predictions"][0], results["predictions"][1],
                         results["predictions"][3]]))
    for name, value in counted.items():
        assert value == pytest.approx(expected[name], rel=1e-4)
        assert f"a.jpg\t{counted['a.jpg']:.2f}" in captured.out
    assert all(len(r["patch_counts"]) == 4 and r["N"] == 2 for r in document["images"])
    pngs = sorted(p.name for p in run.glob("*.png"))
    assert len(pngs) == 3 and all(open(run / p, "rb").read(8) == b"\x89PNG\r\n\x1a\n" for p in pngs)
    assert (run / "counts.csv").read_text().count("\n") == 4
    # A second run writes a new folder and leaves the first alone.
    before = sorted(p.name for p in run.iterdir())
    assert syrac_main(["count", str(loose), "--model", str(checkpoint), "--N", "2",
                       "--out", str(out), "--quiet"]) == 0
    assert len(list(out.iterdir())) == 2 and sorted(p.name for p in run.iterdir()) == before
    newest = max(out.iterdir())
    (record,) = json.loads((newest / "counts.json").read_text())["images"]
    assert record["count"] == pytest.approx(results["predictions"][3], rel=1e-4)  # checkpoint + probe


def test_count_refuses_nothing_to_count(tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        syrac_main(["count", str(tmp_path / "none*.jpg"), "--model", "m.keras",
                    "--out", str(tmp_path / "o")])
    assert exited.value.code == 2
    assert "no file matches this pattern" in capsys.readouterr().err


@pytest.mark.slow
def test_installed_console_command_runs_outside_the_repository(fitted, tmp_path):
    command = shutil.which("syrac")
    assert command, "the console command 'syrac' is not installed (pip install -e .)"
    root, checkpoint, results = fitted
    counter_path = _exported(root, checkpoint, "counter.keras")
    shutil.copy(results["image_paths"][0], tmp_path / "photo.jpg")
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    completed = subprocess.run([command, "count", "photo.jpg", "--model", str(counter_path)],
                               cwd=tmp_path, capture_output=True, text=True, env=environment,
                               timeout=600)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stdout.splitlines()[0].startswith("photo.jpg\t")
    assert list((tmp_path / "counts").iterdir())
    module = subprocess.run([sys.executable, "-m", "syrac", "--help"], cwd=tmp_path,
                            capture_output=True, text=True, env=environment, timeout=300)
    assert module.returncode == 0 and "count" in module.stdout
