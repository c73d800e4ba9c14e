"""The same counter in three runtimes: TensorFlow (``.keras``), ONNX Runtime and LiteRT.

Tolerance: counts and per-patch counts agree to 1e-4 (absolute; the counts here are 0.5-5). The
three runtimes run the same float32 graph with their own kernels (oneDNN, MLAS, XNNPACK), whose
summation orders differ: over this encoder's few hundred terms per output that is ~1e-6, measured
2e-7 to 4e-7 on the AMD EPYC; 1e-4 is what the exported files must meet, on either processor.
"""

import os
import subprocess
import sys

import numpy as np
import pytest

from syrac.__main__ import main as syrac_main
from syrac.common.image_files import read_image
from syrac.count.runtimes import (KerasCounter, LiteRTCounter, OnnxCounter, open_counter,
                                  resize_bilinear)
from tests.conftest import COUNTER_FILES, REPO, crowd_pngs, read_counts


def test_numpy_bilinear_resize_is_tensorflows():
    import tensorflow as tf

    images = np.random.default_rng(0).random((2, 37, 53, 3), dtype=np.float32)
    for size in ((32, 48), (80, 20), (37, 53), (5, 111)):
        expected = tf.image.resize(images, size, method="bilinear").numpy()
        np.testing.assert_allclose(resize_bilinear(images, *size), expected, atol=2e-6)


def test_every_runtime_counts_as_the_keras_counter(counter_files, tmp_path):
    images = [read_image(str(p)) for p in crowd_pngs(tmp_path)]
    reference = KerasCounter(str(counter_files / "counter.keras"))
    for name in COUNTER_FILES:
        counter = open_counter(str(counter_files / name))
        assert type(counter) is (OnnxCounter if name.endswith(".onnx") else LiteRTCounter)
        assert counter.n == 2
        assert counter.input_size == ((32, 48) if name.startswith("fixed") else None)
        for image in images:
            counts, patch_counts = counter(image[np.newaxis])
            expected_counts, expected_patches = reference(image[np.newaxis])
            assert patch_counts.shape == (1, 4)
            np.testing.assert_allclose(counts, expected_counts, atol=1e-4, err_msg=name)
            np.testing.assert_allclose(patch_counts, expected_patches, atol=1e-4, err_msg=name)
        batch = np.stack([images[2], images[2]])  # a batch of two, one size
        np.testing.assert_allclose(counter(batch)[0], reference(batch)[0], atol=1e-4)


def _photos(folder):
    """Three PNGs and a JPEG (whose pixels depend on the decoder's inverse DCT)."""
    from PIL import Image

    paths = crowd_pngs(folder)
    jpeg = folder / "crowd.jpg"
    Image.open(paths[0]).save(jpeg, quality=90)
    return [*paths, jpeg]


def test_count_with_onnx_and_litert_runs_without_tensorflow(counter_files, tmp_path):
    """Where TensorFlow is missing, JPEGs are decoded by Pillow: the counts are those of the
    Keras counter on Pillow's pixels; every other format counts as with TensorFlow."""
    paths = _photos(tmp_path / "photos")
    reference = KerasCounter(str(counter_files / "counter.keras"))
    expected = {str(p): float(reference(read_image(str(p))[np.newaxis])[0][0]) for p in paths}
    for name in ("counter.onnx", "counter.tflite"):
        out = tmp_path / name
        completed = subprocess.run(
            [sys.executable, str(REPO / "tests" / "scripts" / "without_tensorflow.py"), "count",
             str(tmp_path / "photos"), "--model", str(counter_files / name), "--out", str(out),
             "--quiet"], capture_output=True, text=True, timeout=300)
        assert completed.returncode == 0, completed.stderr[-2000:]
        (run,) = out.iterdir()
        document = read_counts(run)
        assert document["runtime"] == ("onnxruntime" if name.endswith(".onnx") else "litert")
        assert document["jpeg_decoder"] == "pillow"
        counted = {r["path"]: r["count"] for r in document["images"]}
        assert counted.keys() == expected.keys()
        for path, count in counted.items():
            assert count == pytest.approx(expected[path], abs=1e-4)
            assert f"{path}\t{count:.2f}" in completed.stdout.replace(
                os.path.relpath(path), path)


def test_with_tensorflow_installed_every_format_gives_the_same_counts(counter_files, tmp_path):
    """JPEGs included: the exported counters then decode them with TensorFlow too."""
    _photos(tmp_path / "photos")
    documents = {}
    for name in ("counter.keras", "counter.onnx", "counter.tflite"):
        assert syrac_main(["count", str(tmp_path / "photos"), "--model",
                           str(counter_files / name), "--out", str(tmp_path / name),
                           "--quiet"]) == 0
        (run,) = (tmp_path / name).iterdir()
        documents[name] = read_counts(run)
        assert documents[name]["jpeg_decoder"] == "tensorflow"
    reference = {r["path"]: r for r in documents["counter.keras"]["images"]}
    assert len(reference) == 4
    for name in ("counter.onnx", "counter.tflite"):
        for record in documents[name]["images"]:
            expected = reference[record["path"]]
            assert record["count"] == pytest.approx(expected["count"], abs=1e-4)
            assert record["patch_counts"] == pytest.approx(expected["patch_counts"], abs=1e-4)


def test_a_runtime_counter_refuses_another_grid_and_the_map(counter_files, tmp_path, capsys):
    photo = crowd_pngs(tmp_path, sizes=((40, 56),))[0]
    for options, message in (
            (["--N", "3"], "is a counter exported for N=2; --N 3 would need another export"),
            (["--map"], "--map needs a .keras counter or checkpoint")):
        with pytest.raises(SystemExit) as exited:
            syrac_main(["count", str(photo), "--model", str(counter_files / "counter.onnx"),
                        "--out", str(tmp_path / "out"), *options])
        assert exited.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_export_refuses_what_a_format_cannot_express(counter_files, tmp_path, capsys):
    model = str(counter_files / "counter.keras")
    for options, message in (
            (["--format", "keras", "--out", str(tmp_path / "c.keras"), "--input_size", "32", "48"],
             "--input_size applies to --format onnx and litert only"),
            (["--format", "onnx", "--out", str(tmp_path / "c.tflite")],
             "--out must end in .onnx for --format onnx"),
            (["--format", "litert", "--out", str(tmp_path / "c.onnx")],
             "--out must end in .tflite for --format litert")):
        with pytest.raises(SystemExit) as exited:
            syrac_main(["export", "--model", model, "--N", "2", *options])
        assert exited.value.code == 2 and message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_file_that_is_not_an_exported_counter_is_named(tmp_path, capsys):
    (tmp_path / "bad.onnx").write_bytes(b"not a model")
    (tmp_path / "bad.tflite").write_bytes(b"not a model either")
    photo = crowd_pngs(tmp_path, sizes=((40, 56),))[0]
    for name, message in (("bad.onnx", "ONNX Runtime cannot load it"),
                          ("bad.tflite", "LiteRT cannot load it")):
        with pytest.raises(SystemExit):
            syrac_main(["count", str(photo), "--model", str(tmp_path / name),
                        "--out", str(tmp_path / "out")])
        assert f"--model {tmp_path / name}: {message}" in capsys.readouterr().err


def test_the_traced_keras_counter_counts_as_the_eager_one_at_every_size(counter_files,
                                                                       tmp_path):
    """One trace serves every image size; fused kernels move counts by float rounding only."""
    path = str(counter_files / "counter.keras")
    traced, eager = KerasCounter(path), KerasCounter(path, traced=False)
    for photo in crowd_pngs(tmp_path):
        image = read_image(str(photo))[np.newaxis]
        for got, expected in zip(traced(image), eager(image)):
            np.testing.assert_allclose(got, expected, atol=1e-4)
    assert traced._call.experimental_get_tracing_count() == 1
