"""The bad-input sweep: what a new user with messy data types and feeds the five entry points.

Each case runs the real entry point in-process (``train_wrapper.main``, ``finetune_wrapper.main``,
``python -m syrac prepare | synth | demo`` through ``syrac.__main__.main``) and checks one of two
outcomes:

- refused: exit status 2, exactly one ``error:`` line naming the file or the option, no traceback
  (an uncaught exception fails the test), and nothing the command found is changed or left behind;
- handled: the input is read correctly (the image decodes to what it shows, the file loads).

The cases that need a process of their own (SIGINT mid-epoch, a run folder held by another
process) are in ``test_run_lock.py`` and at the end of this module.
"""

import dataclasses
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
import tensorflow as tf
import tifffile
import yaml
from PIL import Image

import finetune_wrapper
import train_wrapper
from syrac.__main__ import main as syrac_main
from syrac.common.annotations import load_count_set, load_ranking_set
from syrac.common.images import decode_image
from syrac.fixtures import make_count_set, make_ranking_set
from syrac.rank.backbones import build_encoder
from tests.conftest import REPO, training_command

FINETUNE = "finetuning/unsupervised/noisy_synth_regress"


# ----------------------------------------------------------------------------- bad files

def _rgb(height=20, width=30, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def _png_chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def write_bomb_png(path, width=20_000, height=10_000):
    """A valid 1-bit PNG of 200 million pixels in 24 kB: decoded to float, 2.4 GB."""
    rows = (b"\x00" + b"\x00" * (width // 8)) * height
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
                     + _png_chunk(b"IDAT", zlib.compress(rows, 9)) + _png_chunk(b"IEND", b""))


def _truncated_jpeg(path, keep):
    Image.fromarray(_rgb(48, 64)).save(path, format="JPEG", quality=95)
    path.write_bytes(path.read_bytes()[:keep])


BAD_FILES = {
    # name: (how to make it at path, expected refusal in the error line)
    "zero_byte": (lambda p: p.write_bytes(b""), "an empty file (0 bytes)"),
    "bomb": (write_bomb_png, "a decompression bomb"),
    "folder": (lambda p: p.mkdir(), "a folder, not an image file"),
    "broken_symlink": (lambda p: p.symlink_to(p.parent / "gone.jpg"), "a broken symbolic link"),
    "text_as_jpg": (lambda p: p.write_text("not an image"), "are not JPEG, PNG, BMP, GIF or TIFF"),
    "truncated_jpeg_header": (lambda p: _truncated_jpeg(p, 200), "JPEG header cannot be read"),
    "bad_tiff_header": (lambda p: p.write_bytes(b"II*\x00" + b"\xff" * 12), "TIFF header cannot be read"),
}


def _replace_image(data_dir, relative, make):
    path = data_dir / relative
    path.unlink()
    make(path)
    return path


def _listing(folder):
    """Every path under ``folder`` with its size (folders as -1): what 'nothing changed' means."""
    found = {}
    for root, directories, files in os.walk(folder):
        for name in directories:
            found[os.path.relpath(os.path.join(root, name), folder)] = -1
        for name in files:
            path = os.path.join(root, name)
            found[os.path.relpath(path, folder)] = os.lstat(path).st_size
    return found


def _refused(entry, argv, capsys, *needles):
    """Run an entry point that must refuse; return its one error line."""
    with pytest.raises(SystemExit) as exited:
        entry(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1, err
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def _syrac(argv):
    return syrac_main([str(a) for a in argv])


def _train(argv):
    return train_wrapper.main([str(a) for a in argv])


def _finetune(argv):
    return finetune_wrapper.main([str(a) for a in argv])


# ----------------------------------------------------------------------------- train_wrapper.py

@pytest.fixture
def ranking_data(tmp_path):
    data = tmp_path / "data"
    make_ranking_set(str(data), "rank", train_pairs=4, val_pairs=2)
    document = json.loads((data / "rank" / "annotations.json").read_text())
    return data, document


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_train_refuses_a_bad_image_file_by_name(ranking_data, tmp_path, capsys, case):
    data, document = ranking_data
    make, reason = BAD_FILES[case]
    bad = _replace_image(data, document["val"][1]["target_image"], make)
    before = _listing(data)
    line = _refused(_train, training_command(data, tmp_path / "runs", "x"), capsys, str(bad), reason)
    assert line.startswith("train_wrapper.py: error: ")
    assert _listing(data) == before and not (tmp_path / "runs").exists()


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-32"])
def test_annotations_with_a_bom_or_in_utf16_load(ranking_data, encoding):
    data, document = ranking_data
    path = data / "rank" / "annotations.json"
    path.write_bytes(json.dumps(document).encode(encoding))
    splits = load_ranking_set(str(data), "rank")
    assert len(splits["train"]) == 4 and len(splits["val"]) == 2


@pytest.mark.parametrize("content, message", [
    (b"", "malformed JSON at line 1, column 1"),
    (b"\x80\x81\x82 not text", "not a UTF-8, UTF-16 or UTF-32 text file"),
    (b'{"train": [], "val": []}', "the 'train' split is empty"),
])
def test_train_refuses_broken_annotations(ranking_data, tmp_path, capsys, content, message):
    data, _ = ranking_data
    (data / "rank" / "annotations.json").write_bytes(content)
    _refused(_train, training_command(data, tmp_path / "runs", "x"), capsys,
             "annotations.json", message)


def test_annotations_json_that_is_a_folder(ranking_data, tmp_path, capsys):
    data, _ = ranking_data
    path = data / "rank" / "annotations.json"
    path.unlink()
    path.mkdir()
    _refused(_train, training_command(data, tmp_path / "runs", "x"), capsys,
             str(path), "is a folder, not a file")


@pytest.mark.parametrize("setting, message", [
    ("epochs=zero", "'epochs' must be a positive integer. Received: epochs='zero'"),
    ("epochs=2.5", "'epochs' must be a positive integer. Received: epochs=2.5"),
    ("learning_rate=fast", "'learning_rate' must be a positive number"),
    ("contrast_draw=per_pixel", "'contrast_draw' must be one of ['per_call', 'per_image']"),
    ("input_shape=[16,16,3]", "'input_shape' must be [height, width, 3]"),
])
def test_train_refuses_values_that_are_not_what_the_key_needs(ranking_data, tmp_path, capsys,
                                                              setting, message):
    data, _ = ranking_data
    _refused(_train, training_command(data, tmp_path / "runs", "x", "--set", setting), capsys,
             "--set", message)


def test_parameter_file_in_utf16_with_numbers_as_typed(ranking_data, tmp_path, capsys):
    data, _ = ranking_data
    params = tmp_path / "params"
    params.mkdir()
    text = (REPO / "config" / "tiny.yaml").read_text().replace("1.0e-04", "1E-4")
    (params / "mine.yaml").write_bytes(text.encode("utf-16"))
    (params / "broken.yaml").write_text("epochs: [1,\n")
    argv = training_command(data, tmp_path / "runs", "x")
    argv[argv.index("--params_dir") + 1] = str(params)
    argv[argv.index("--params") + 1] = "broken"
    _refused(_train, argv, capsys, "broken.yaml", "malformed YAML")
    from syrac.common.config import load_params

    loaded, _ = load_params(str(params), "mine")
    assert loaded["learning_rate"] == 1e-4 and loaded["input_shape"] == [32, 48, 3]


def test_output_folder_that_is_a_file_or_read_only(ranking_data, tmp_path, capsys):
    data, _ = ranking_data
    blocker = tmp_path / "runs_file"
    blocker.write_text("keep me")
    _refused(_train, training_command(data, blocker, "x"), capsys,
             f"--experiment_dir {blocker}", "exists and is not a folder")
    assert blocker.read_text() == "keep me"
    _refused(_train, training_command(data, blocker / "inside", "x"), capsys,
             "a part of the path is a file")
    # /sys is read-only even for root, which chmod-based tests are not.
    _refused(_train, training_command(data, "/sys/kernel/syrac_runs", "x"), capsys,
             "--experiment_dir /sys/kernel/syrac_runs", "cannot be created")
    _refused(_syrac, ["prepare", "intra-rank", "--images", data / "rank", "--data_dir",
                      "/sys/kernel"], capsys, "--data_dir /sys/kernel", "cannot write there")


def test_nonsense_train_options(ranking_data, tmp_path, capsys):
    data, _ = ranking_data
    _refused(_train, training_command(data, tmp_path / "runs", "x", "--index", "-1"), capsys,
             "--index must be >= 0")
    _refused(_train, training_command(data, tmp_path / "runs", "x", "--patience", "many"), capsys,
             "--patience", "invalid integer value: 'many'")
    _refused(_train, ["--experiment", "training/baseline", "--resume", tmp_path / "nope"], capsys,
             "--resume", "no such run folder")


# ----------------------------------------------------------------------------- accepted images

def _write_with_pil(array, path, **options):
    Image.fromarray(array).save(path, **options)


def _decoded(path, size=(20, 30)):
    return decode_image(tf.constant(str(path)), size).numpy()


def test_accepted_images_decode_to_what_they_show(tmp_path):
    """1x1, CMYK, 16-bit, animated, float TIFF, wrong extension, symlink: each read correctly."""
    rgb = _rgb()
    one = tmp_path / "one.png"
    _write_with_pil(rgb[:1, :1], one)
    np.testing.assert_allclose(_decoded(one), np.broadcast_to(rgb[0, 0] / 255, (20, 30, 3)),
                               atol=1e-6)

    cmyk = tmp_path / "cmyk.jpg"
    rows, columns = np.mgrid[0:20, 0:30]
    smooth = np.stack([columns * 8, rows * 12, 255 - columns * 8], axis=-1).astype(np.uint8)
    Image.fromarray(smooth).convert("CMYK").save(cmyk, quality=100)
    assert np.abs(_decoded(cmyk) - smooth / 255).max() < 6 / 255  # JPEG rounding only

    sixteen = tmp_path / "sixteen.png"
    grey16 = rgb[..., 0].astype(np.uint16) * 257 + 3
    Image.fromarray(grey16).save(sixteen)
    np.testing.assert_allclose(_decoded(sixteen)[..., 0], grey16 / 65535, atol=1e-6)

    animated = tmp_path / "animated.gif"
    frames = [Image.fromarray(np.full((20, 30, 3), value, np.uint8)) for value in (10, 200)]
    frames[0].save(animated, save_all=True, append_images=frames[1:])
    np.testing.assert_allclose(_decoded(animated), 10 / 255, atol=1e-6)  # the first frame

    floats = tmp_path / "floats.tif"
    values = np.linspace(-0.5, 1.5, 20 * 30 * 3, dtype=np.float32).reshape(20, 30, 3)
    tifffile.imwrite(floats, values)
    np.testing.assert_allclose(_decoded(floats), np.clip(values, 0, 1), atol=1e-6)

    disguised = tmp_path / "really_a_png.jpg"
    _write_with_pil(rgb, disguised, format="PNG")
    np.testing.assert_allclose(_decoded(disguised), rgb / 255, atol=1e-6)

    link = tmp_path / "link.png"
    link.symlink_to(disguised)
    np.testing.assert_array_equal(_decoded(link), _decoded(disguised))


@pytest.mark.slow
def test_spaces_and_non_ascii_names_train_end_to_end(tmp_path, capsys):
    data = tmp_path / "my data" / "données"
    make_ranking_set(str(data), "rank", train_pairs=4, val_pairs=2)
    path = data / "rank" / "annotations.json"
    document = json.loads(path.read_text())
    for split in ("train", "val"):
        for pair in document[split]:
            for key in ("source_image", "target_image"):
                old = data / pair[key]
                new = old.with_name("幸せ な " + old.name)
                old.rename(new)
                pair[key] = os.path.relpath(new, data)
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    runs = tmp_path / "runs ü"
    assert _train(training_command(data, runs, "x", "--set", "epochs=1")) is None
    (run_dir,) = (runs / "x" / "rank" / "0").iterdir()
    assert (run_dir / "best_model_01.keras").is_file()
    assert "Run completed" in capsys.readouterr().out


# ----------------------------------------------------------------------------- finetune_wrapper.py

@pytest.fixture(scope="module")
def count_data(tmp_path_factory):
    data = tmp_path_factory.mktemp("count data")
    make_count_set(str(data), "synth", images=4)
    make_count_set(str(data), "bench", images=2, split="test", seed=2)
    runs = tmp_path_factory.mktemp("runs")
    (runs / "MODEL").mkdir()
    build_encoder("tiny_cnn", [32, 48, 3], None).save(runs / "MODEL" / "best_model_01.keras")
    return data, runs


def finetune_command(data, runs, **changes):
    options = {"--experiment": FINETUNE, "--data_dir": data, "--train_data": "synth",
               "--test_data": "bench", "--N": "2", "--experiment_path": runs,
               "--model_path": "MODEL/best_model_01.keras", "--params_dir": "./config/",
               "--params": "tiny"}
    options.update(changes)
    return [str(part) for key, value in options.items() if value is not None
            for part in (key, value)]


def _with_count(data, name, count):
    folder = data.parent / f"{data.name}_{name}"
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(data, folder)
    path = folder / "synth" / "annotations.json"
    entries = json.loads(path.read_text())
    entries[1]["count"] = count
    path.write_text(json.dumps(entries))
    return folder


@pytest.mark.parametrize("count, message", [
    ("12", "[1].count must be a number, not a string. Received: count='12'"),
    (float("nan"), "[1].count must be a number. Received: count=nan"),
    ("many", "[1].count must be a number. Received: count='many'"),
    (None, "[1].count must be a number. Received: count=None"),
])
def test_finetune_refuses_counts_that_are_not_numbers(count_data, capsys, count, message):
    data, runs = count_data
    bad = _with_count(data, "bad", count)
    line = _refused(_finetune, finetune_command(bad, runs), capsys, message)
    assert "synth/annotations.json" in line


def test_float_counts_are_read_as_they_are(count_data):
    data, _ = count_data
    folder = _with_count(data, "float", 12.5)
    assert load_count_set(str(folder), "synth")[1][1] == 12.5


@pytest.mark.parametrize("value, message", [
    ("0", "--N: must be a positive integer. Received: '0'"),
    ("-2", "--N: must be a positive integer. Received: '-2'"),
    ("abc", "--N: must be a positive integer. Received: 'abc'"),
    ("2.5", "--N: must be a positive integer. Received: '2.5'"),
    ("1e9", "too large for the input shape"),
])
def test_finetune_refuses_a_nonsense_n(count_data, capsys, value, message):
    data, runs = count_data
    _refused(_finetune, finetune_command(data, runs, **{"--N": value}), capsys, message)


def test_finetune_takes_n_written_as_a_float_with_nothing_after_the_dot(count_data):
    from syrac.cli import finetune_parser

    data, runs = count_data
    assert finetune_parser().parse_args(finetune_command(data, runs, **{"--N": "2."})).N == 2


def test_finetune_refuses_truncated_and_foreign_checkpoints(count_data, tmp_path, capsys):
    data, runs = count_data
    whole = (runs / "MODEL" / "best_model_01.keras").read_bytes()
    (tmp_path / "MODEL").mkdir()
    (tmp_path / "MODEL" / "truncated.keras").write_bytes(whole[: len(whole) // 2])
    _refused(_finetune, finetune_command(data, tmp_path, **{"--model_path": "MODEL/truncated.keras"}),
             capsys, "truncated.keras")
    import keras

    other = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    other.save(tmp_path / "MODEL" / "other.keras")
    _refused(_finetune, finetune_command(data, tmp_path, **{"--model_path": "MODEL/other.keras"}),
             capsys, "other.keras")
    _refused(_finetune, finetune_command(data, runs, **{"--split": "holdout"}), capsys,
             "bench/annotations.json", "missing the 'holdout' split")
    assert sorted(os.listdir(tmp_path / "MODEL")) == ["other.keras", "truncated.keras"]


def test_finetune_names_a_bad_benchmark_image(count_data, capsys):
    data, runs = count_data
    folder = _with_count(data, "bomb", 3)
    bench = json.loads((folder / "bench" / "annotations.json").read_text())
    bad = _replace_image(folder, bench["test"][0]["image"], write_bomb_png)
    _refused(_finetune, finetune_command(folder, runs), capsys, str(bad), "decompression bomb")


# ----------------------------------------------------------------------------- prepare

def test_prepare_refusals(tmp_path, capsys):
    _refused(_syrac, ["prepare", "ucf_qnrf", "--src", tmp_path / "nope", "--data_dir",
                      tmp_path / "data"], capsys, f"--src {tmp_path / 'nope'}: no such directory")
    assert not (tmp_path / "data").exists()  # the output folder made for it is removed again
    (tmp_path / "file").write_text("x")
    _refused(_syrac, ["prepare", "ucf_qnrf", "--src", tmp_path, "--data_dir", tmp_path / "file"],
             capsys, "--data_dir", "exists and is not a folder")
    _refused(_syrac, ["prepare", "intra-rank", "--images", tmp_path / "nope", "--data_dir",
                      tmp_path / "data", "--levels", "many"], capsys,
             "--levels: invalid integer value: 'many'")


def test_prepare_intra_rank_names_a_truncated_image(tmp_path, capsys):
    images = tmp_path / "images"
    images.mkdir()
    for index in range(3):
        _write_with_pil(_rgb(64, 80, index), images / f"{index}.jpg", quality=95)
    broken = images / "1.jpg"
    broken.write_bytes(broken.read_bytes()[:300])
    _refused(_syrac, ["prepare", "intra-rank", "--images", images, "--data_dir", tmp_path / "data"],
             capsys, str(broken))
    assert not (tmp_path / "data").exists() or os.listdir(tmp_path / "data") == []


def test_prepare_creates_a_missing_data_dir(tmp_path, capsys):
    images = tmp_path / "images"
    images.mkdir()
    for index in range(3):
        _write_with_pil(_rgb(64, 80, index), images / f"{index}.png")
    data = tmp_path / "new" / "data"
    assert _syrac(["prepare", "intra-rank", "--images", images, "--data_dir", data,
                   "--levels", "2."]) == 0
    assert (data / "intra_rank" / "annotations.json").is_file()


# ----------------------------------------------------------------------------- synth

@pytest.mark.parametrize("argv, message", [
    (["--shard", "3/2"], "--shard"),
    (["--shard", "a/b"], "--shard"),
    (["--shard", "1/0"], "--shard"),
    (["--shard", "-1/2"], "--shard"),
    (["--counts", "3", "3"], "--counts lists a count twice"),
    (["--counts", "-5"], "--counts"),
    (["--counts", "abc"], "--counts: invalid integer value: 'abc'"),
    (["--per-count", "0"], "--per-count"),
    (["--steps", "0"], "--steps"),
    (["--size", "0"], "--size"),
])
def test_synth_refuses_nonsense_options(tmp_path, capsys, argv, message):
    data = tmp_path / "data"
    _refused(_syrac, ["synth", "noisy-counts", "--data_dir", data, "--out", "counts",
                      "--preset", tmp_path, "--quiet", *argv], capsys, message)
    assert not data.exists()


def test_synth_creates_a_missing_data_dir_before_looking_at_the_preset(tmp_path, capsys):
    data = tmp_path / "new" / "data"
    _refused(_syrac, ["synth", "noisy-counts", "--data_dir", data, "--out", "counts",
                      "--preset", tmp_path / "no_preset"], capsys, "--preset", "no such folder")
    assert not (tmp_path / "new").exists()  # refused: the folders made for it are gone again


def test_synth_names_a_bad_source_image(tmp_path, capsys):
    images = tmp_path / "images"
    images.mkdir()
    _write_with_pil(_rgb(40, 56), images / "good.png")
    write_bomb_png(images / "huge.png")
    _refused(_syrac, ["synth", "remove-people", "--images", images, "--data_dir", tmp_path / "d",
                      "--out", "pairs", "--preset", tmp_path], capsys,
             str(images / "huge.png"), "decompression bomb")


# ----------------------------------------------------------------------------- demo

@pytest.mark.parametrize("argv, message", [
    (["--seeds", "one"], "--seeds: must be an integer in 0 .. 2**32 - 1. Received: 'one'"),
    (["--size", "0", "0"], "--size must be at least"),
    (["--noise_scale", "nan"], "--noise_scale: invalid number value: 'nan'"),
    (["--N", "-1"], "--N: must be a positive integer. Received: '-1'"),
])
def test_demo_refuses_nonsense_options(tmp_path, capsys, argv, message):
    _refused(_syrac, ["demo", "--quick", "--out", tmp_path / "out", "--cache", tmp_path / "cache",
                      *argv], capsys, message)
    assert not (tmp_path / "out").exists() and not (tmp_path / "cache").exists()


def test_demo_output_that_is_a_file(tmp_path, capsys):
    (tmp_path / "out").write_text("results I keep")
    _refused(_syrac, ["demo", "--quick", "--out", tmp_path / "out", "--cache", tmp_path / "c"],
             capsys, f"--out {tmp_path / 'out'}", "exists and is not a folder")
    assert (tmp_path / "out").read_text() == "results I keep"


# ----------------------------------------------------------------------------- interrupts

@pytest.mark.slow
def test_ctrl_c_mid_epoch_then_the_same_command_finishes_the_run(tmp_path):
    data = tmp_path / "data"
    make_ranking_set(str(data), "rank", train_pairs=24, val_pairs=2)
    argv = training_command(data, tmp_path / "runs", "x", "--set", "epochs=2",
                            "backup_every_n_batches=1")
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    # SIGINT as a terminal sends it: a test worker may run with SIGINT ignored, and a child
    # inherits that (Python then installs no KeyboardInterrupt handler).
    process = subprocess.Popen([sys.executable, "train_wrapper.py", *argv], cwd=REPO,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=environment,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    run_root = tmp_path / "runs" / "x" / "rank" / "0"
    deadline = 300
    import time

    start = time.monotonic()
    while time.monotonic() - start < deadline:
        backups = list(run_root.glob("*/backup/position.json"))
        if backups:
            break
        time.sleep(0.2)
    assert backups and process.poll() is None, "no backup seen while the run was alive"
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=300)
    assert process.returncode == 130, err
    assert "interrupted; run the same command again to resume" in err
    assert "Traceback" not in err
    finished = subprocess.run([sys.executable, "train_wrapper.py", *argv], cwd=REPO,
                              capture_output=True, text=True, env=environment, timeout=600)
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert "Resuming" in finished.stdout
    (run_dir,) = run_root.iterdir()
    rows = (run_dir / "results.csv").read_text().strip().splitlines()
    assert [row.split(",")[0] for row in rows[1:]] == ["0", "1"]
    assert sorted(p.name for p in run_dir.glob("best_model_*")) == [
        "best_model_01.keras", "best_model_02.keras"]
    assert not (run_dir / ".lock").exists()


# ----------------------------------------------------------------------------- seeds, Keras names,
# non-finite labels (issue 23): each refused where it is read, naming what the user typed

SEED_MESSAGE = "must be an integer in 0 .. 2**32 - 1"


@pytest.mark.parametrize("value", ["-1", str(2**32)])
def test_every_seed_option_refuses_a_seed_numpy_cannot_take(ranking_data, count_data, tmp_path,
                                                           capsys, value):
    data, _ = ranking_data
    before = sorted(os.listdir(tmp_path))
    _refused(_train, training_command(data, tmp_path / "runs", "x", "--seed", value), capsys,
             "--seed", SEED_MESSAGE, repr(value))
    counts, runs = count_data
    _refused(_finetune, finetune_command(counts, runs, **{"--seed": value}), capsys,
             "--seed", SEED_MESSAGE)
    _refused(_syrac, ["prepare", "ucf_qnrf", "--src", tmp_path, "--data_dir", tmp_path / "d",
                      "--seed", value], capsys, "--seed", SEED_MESSAGE)
    _refused(_syrac, ["prepare", "intra-rank", "--images", data / "rank", "--data_dir",
                      tmp_path / "d", "--seed", value], capsys, "--seed", SEED_MESSAGE)
    _refused(_syrac, ["synth", "noisy-counts", "--data_dir", tmp_path / "d", "--out", "c",
                      "--preset", tmp_path, "--seed", value], capsys, "--seed", SEED_MESSAGE)
    for option in ("--world_seed", "--seeds"):
        _refused(_syrac, ["demo", "--quick", "--out", tmp_path / "out", "--cache",
                          tmp_path / "cache", option, value], capsys, option, SEED_MESSAGE)
    assert sorted(os.listdir(tmp_path)) == before  # nothing written by any of them


@pytest.mark.parametrize("key, value, named", [
    ("seeds", [0, -3], "'seeds'"),
    ("toy_world", {"seed": 2**32}, "toy world: seed"),
    ("intra_rank", {"out": "i", "from": "toy_rank", "seed": -1}, "'intra_rank.seed'"),
])
def test_a_recipe_seed_out_of_range_is_refused_by_file_and_key(tmp_path, capsys, key, value,
                                                               named):
    document = yaml.safe_load((REPO / "config" / "recipes" / "toy_quick.yaml").read_text())
    document.update(params_dir=str(REPO / "config"), **{key: value})
    document["toy_world"]["cache"] = str(tmp_path / "cache")
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(yaml.safe_dump(document))
    _refused(_syrac, ["table", recipe, "--out", tmp_path / "out"], capsys, str(recipe), named,
             SEED_MESSAGE)
    assert sorted(os.listdir(tmp_path)) == ["recipe.yaml"]


@pytest.mark.parametrize("setting, key", [
    ("loss=NotALoss", "'loss'"),
    ("initializations=not_an_initializer", "'initializations'"),
])
def test_a_name_keras_does_not_know_is_refused_before_any_work(ranking_data, tmp_path, capsys,
                                                             setting, key):
    data, _ = ranking_data
    line = _refused(_train, training_command(data, tmp_path / "runs", "x", "--set", setting),
                    capsys, "--set", key, "Keras knows", setting.split("=")[1])
    assert "binary_crossentropy" in line or "glorot_uniform" in line  # the accepted names
    assert not (tmp_path / "runs").exists()


def _prepare_refuses_an_edited_first_line(tmp_path, capsys, benchmark, relative, line,
                                          message):
    """Make ``benchmark``'s raw fixture, replace the first line of ``raw/relative`` (``{id}``:
    the id that line named), and check ``prepare`` refuses it naming the file and ``message``;
    nothing is written."""
    from syrac.prepare import raw_fixtures

    raw = tmp_path / "raw"
    getattr(raw_fixtures, f"make_{benchmark}")(raw)
    path = raw / relative
    lines = path.read_text().splitlines()
    lines[0] = line.format(id=lines[0].replace(",", " ").split()[0])
    path.write_text("\n".join(lines) + "\n")
    source = raw / relative.split("/")[0]
    _refused(_syrac, ["prepare", benchmark, "--src", source, "--data_dir", tmp_path / "data"],
             capsys, str(path), message)
    assert not (tmp_path / "data").exists() or os.listdir(tmp_path / "data") == []


@pytest.mark.parametrize("relative, line, message", [
    ("jhu_crowd_v2.0/train/image_labels.txt", "{id},nan,street,0,0",
     "line 1: the count must be a finite number"),
    ("jhu_crowd_v2.0/train/image_labels.txt", "{id},inf,street,0,0",
     "line 1: the count must be a finite number"),
    ("jhu_crowd_v2.0/train/gt/0001.txt", "nan 12 4 5 0 1",
     "line 1: a head's x and y must be finite numbers"),
])
def test_a_non_finite_jhu_label_is_refused_by_file_and_line(tmp_path, capsys, relative, line,
                                                            message):
    _prepare_refuses_an_edited_first_line(tmp_path, capsys, "jhu_crowd", relative, line, message)


# ----------------------------------------------------------------------------- count and export

@pytest.fixture(scope="module")
def probed_checkpoint(tmp_path_factory):
    """A tiny encoder checkpoint with a probe fitted by the Count core, and a photo to count."""
    from syrac.count.core import CountSettings, fit_probe
    from syrac.count.encoder_loading import load_encoder
    from syrac.count.probe_folder import ProbeFolder

    root = tmp_path_factory.mktemp("probed")
    make_count_set(str(root / "data"), "synth", images=4)
    run = root / "run"
    run.mkdir()
    checkpoint = run / "best_model_01.keras"
    build_encoder("tiny_cnn", [32, 48, 3], None).save(checkpoint)
    settings = CountSettings((32, 48, 3), "resnet_v2", 2, 2)
    probe = fit_probe(load_encoder(str(checkpoint)), load_count_set(str(root / "data"), "synth"),
                      settings, progress=False)
    ProbeFolder.of_checkpoint(str(checkpoint)).save_probe(probe)
    photo = root / "photo.png"
    _write_with_pil(_rgb(40, 60), photo)
    return root, checkpoint, photo


@pytest.mark.parametrize("command", ["count", "export"])
def test_count_and_export_refuse_n_zero_instead_of_counting_at_one(probed_checkpoint, tmp_path,
                                                                   capsys, command):
    _, checkpoint, photo = probed_checkpoint
    argv = (["count", photo, "--out", tmp_path / "counts"] if command == "count"
            else ["export", "--out", tmp_path / "counter.keras"])
    _refused(_syrac, [*argv, "--model", checkpoint, "--N", "0"], capsys,
             "--N: must be a positive integer. Received: '0'")
    assert os.listdir(tmp_path) == []


def test_count_model_mistakes_name_the_model_and_what_it_is(probed_checkpoint, tmp_path, capsys):
    from syrac.count.probe import CountProbe
    from syrac.count.probe_folder import ProbeFolder

    _, checkpoint, photo = probed_checkpoint
    run = checkpoint.parent

    def count(model):
        return _refused(_syrac, ["count", photo, "--model", model, "--out", tmp_path / "c"],
                        capsys, f"--model {model}")

    assert "did you mean one of its checkpoints" in count(run)  # a run folder
    foreign = tmp_path / "classifier.keras"
    inputs = keras_input = tf.keras.Input((8,))
    tf.keras.Model(keras_input, tf.keras.layers.Dense(3)(inputs)).save(foreign)
    assert "an encoder maps (batch, height, width, 3) images" in count(foreign)
    wrong = tmp_path / "wrong" / "best_model_01.keras"
    wrong.parent.mkdir()
    shutil.copy(checkpoint, wrong)
    record = ProbeFolder.of_checkpoint(str(checkpoint)).load_probe().record
    ProbeFolder.of_checkpoint(str(wrong)).save_probe(
        CountProbe(np.ones(10), dataclasses.replace(record, feature_dim=10)))
    line = count(wrong)
    assert "expects 10 features" in line and str(ProbeFolder.of_checkpoint(str(wrong)).probe_path) \
        in line
    assert not (tmp_path / "c").exists()


def test_recipe_mistakes_name_the_recipe_and_its_key(tmp_path, capsys):
    document = yaml.safe_load((REPO / "config" / "recipes" / "toy_quick.yaml").read_text())
    document.update(params_dir=str(REPO / "config"), N=[1, 100])
    document["toy_world"]["cache"] = str(tmp_path / "cache")
    document["selection"]["N"] = 1
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(yaml.safe_dump(document))
    line = _refused(_syrac, ["table", recipe, "--out", tmp_path / "out"], capsys,
                    f"{recipe}: 'N' 100 is too large for the input shape 32x43")
    assert "--N" not in line
    _refused(_syrac, ["table", tmp_path, "--out", tmp_path / "out"], capsys,
             f"{tmp_path}: a folder, not a recipe file")
    document.update(N=[1], set=["epochs=zero"])
    recipe.write_text(yaml.safe_dump(document))
    line = _refused(_syrac, ["table", recipe, "--out", tmp_path / "out"], capsys, str(recipe),
                    "'set'", "'epochs' must be a positive integer")
    assert "--set" not in line
    assert sorted(os.listdir(tmp_path)) == ["recipe.yaml"]


# ----------------------------------------------------------------------------- damaged records

@pytest.mark.parametrize("job, key", [
    ([1, 2], "a job record is a JSON object. Received: list"),
    ({"command": "noisy-counts", "settings": {}}, "missing the key 'items'"),
    ({"command": "remove-people", "settings": {}, "items": []}, "missing the key 'split'"),
    ({"command": "noisy-counts", "settings": {}, "items": "a"}, "'items' must be a list"),
])
def test_synth_merge_names_a_damaged_job_file_and_its_key(tmp_path, capsys, job, key):
    folder = tmp_path / "data" / "counts"
    folder.mkdir(parents=True)
    (folder / "job.json").write_text(json.dumps(job))
    _refused(_syrac, ["synth", "merge", "--data_dir", tmp_path / "data", "--out", "counts"],
             capsys, str(folder / "job.json"), key)
    assert os.listdir(folder) == ["job.json"]


def _interrupted_run(data, runs, tmp_path):
    """A run folder as a kill after its first backup leaves it (status running)."""
    from syrac.rank.run_folder import RunFolder

    assert _train(training_command(data, runs, "x", "--set", "epochs=1")) in (None, 0)
    (finished,) = (runs / "x" / "rank" / "0").iterdir()
    run_dir = tmp_path / "copy" / finished.name
    shutil.copytree(finished, run_dir)
    RunFolder(str(run_dir)).write_status("running")
    return run_dir


@pytest.mark.slow
def test_resume_refuses_damaged_records_by_file_and_key(ranking_data, tmp_path, capsys):
    data, _ = ranking_data
    run_dir = _interrupted_run(data, tmp_path / "runs", tmp_path)
    args = run_dir / "args.json"
    recorded = json.loads(args.read_text())
    for damaged, message in [({}, "missing the key 'data_dir'"),
                             ([], "the recorded arguments are a JSON object"),
                             ({**recorded, "seed": -4}, "'seed' must be an integer in 0 .. 2**32 - 1")]:
        args.write_text(json.dumps(damaged))
        _refused(_train, ["--experiment", "training/baseline", "--resume", run_dir], capsys,
                 str(args), message)
    args.write_text(json.dumps(recorded))
    (run_dir / "status.json").write_text("[1]")
    _refused(_train, ["--experiment", "training/baseline", "--resume", run_dir], capsys,
             str(run_dir / "status.json"), "a run status is an object")
    assert (run_dir / "best_model_01.keras").exists()  # nothing of the run is removed


def _interrupted_after_an_epoch(data, runs):
    """Train 3 epochs with a backup after every batch; stop the run with Ctrl-C once its
    backup is past the first epoch; return the run folder (interrupted, with a backup)."""
    import time

    argv = training_command(data, runs, "x", "--set", "epochs=3", "backup_every_n_batches=1")
    process = subprocess.Popen([sys.executable, "train_wrapper.py", *argv], cwd=REPO,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    start = time.monotonic()
    while time.monotonic() - start < 300 and process.poll() is None:
        positions = list((runs / "x" / "rank" / "0").glob("*/backup/position.json"))
        try:
            if positions and json.loads(positions[0].read_text())["epoch"] >= 1:
                break
        except (ValueError, KeyError, OSError):
            pass  # read while it was being replaced
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=300)
    assert process.returncode == 130, err[-2000:]
    (run_dir,) = (runs / "x" / "rank" / "0").iterdir()
    return run_dir


@pytest.mark.slow
def test_resume_of_a_cut_backup_or_a_repeated_epoch_row(tmp_path, capsys):
    data = tmp_path / "data"
    make_ranking_set(str(data), "rank", train_pairs=24, val_pairs=2)
    interrupted = _interrupted_after_an_epoch(data, tmp_path / "runs")
    cut, repeated = tmp_path / "cut" / interrupted.name, tmp_path / "repeated" / interrupted.name
    for copy in (cut, repeated):
        shutil.copytree(interrupted, copy, ignore=shutil.ignore_patterns(".lock"))
    position = json.loads((cut / "backup" / "position.json").read_text())
    weights = cut / "backup" / position["weights"]
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])  # a copy cut short
    before = _listing(cut)
    _refused(_train, ["--experiment", "training/baseline", "--resume", cut], capsys,
             str(weights), "the backup's weights cannot be read", "cannot resume from it")
    assert _listing(cut) == before  # nothing removed, nothing rewritten
    lines = (repeated / "results.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in lines[1:]][:1] == ["0"]
    (repeated / "results.csv").write_text("\n".join([lines[0], lines[1], *lines[1:]]) + "\n")
    assert _train(["--experiment", "training/baseline", "--resume", str(repeated)]) in (None, 0)
    epochs = [line.split(",")[0] for line in
              (repeated / "results.csv").read_text().splitlines()[1:]]
    assert epochs == ["0", "1", "2"]


@pytest.mark.parametrize("benchmark, relative, line, message", [
    ("jhu_crowd", "jhu_crowd_v2.0/val/image_labels.txt", "{id},3,street,7,0",
     "line 1: the weather must be an integer in 0..3"),
    ("jhu_crowd", "jhu_crowd_v2.0/val/image_labels.txt", "{id},3,street,1,2",
     "line 1: the distractor flag must be 0 or 1"),
    ("jhu_crowd", "jhu_crowd_v2.0/val/image_labels.txt", "{id},3,street,1",
     "line 1: expected 'id,count,scene,weather,distractor'"),
    ("nwpu_crowd", "NWPU-Crowd/val.txt", "{id} 5 2",
     "line 1: the illumination must be an integer in 0..3"),
    ("nwpu_crowd", "NWPU-Crowd/val.txt", "{id} 1 x", "line 1: the level must be an integer in 0..4"),
    ("nwpu_crowd", "NWPU-Crowd/val.txt", "{id} 1", "line 1: expected 'id illumination level'"),
])
def test_malformed_image_metadata_is_refused_by_file_and_line(tmp_path, capsys, benchmark,
                                                              relative, line, message):
    _prepare_refuses_an_edited_first_line(tmp_path, capsys, benchmark, relative, line, message)


def test_count_names_files_that_claim_to_be_images_and_leaves_other_files_alone(
        probed_checkpoint, tmp_path, capsys):
    _, checkpoint, photo = probed_checkpoint
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(photo, folder / "good.png")
    (folder / "empty.png").write_bytes(b"")
    (folder / "garbage.jpg").write_bytes(b"\x00 not a jpeg at all")
    (folder / "notes.txt").write_text("left alone")
    line = _refused(_syrac, ["count", folder, "--model", checkpoint, "--out", tmp_path / "c",
                             "--quiet"], capsys, "2 file(s) could not be counted")
    assert "empty.png" in line and "garbage.jpg" in line and "notes.txt" not in line
    (run,) = (tmp_path / "c").iterdir()
    document = json.loads((run / "counts.json").read_text())
    assert [os.path.basename(image["path"]) for image in document["images"]] == ["good.png"]


@pytest.mark.parametrize("meta, message", [
    ({"level": 7, "illumination": 1}, "test[0].meta.level must be an integer in 0..4"),
    ({"weather": "rain"}, "test[0].meta.weather must be an integer in 0..3"),
    ("sunny", "test[0].meta must be an object"),
])
def test_finetune_refuses_malformed_item_metadata_by_file_and_key(count_data, capsys, meta,
                                                                  message):
    data, runs = count_data
    folder = data.parent / f"{data.name}_meta"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(data, folder)
    path = folder / "bench" / "annotations.json"
    document = json.loads(path.read_text())
    document["test"][0]["meta"] = meta
    path.write_text(json.dumps(document))
    _refused(_finetune, finetune_command(folder, runs), capsys, str(path), message)
