"""``python -m syrac synth`` end to end with a tiny random Stable Diffusion 3 on the CPU.

The tiny model is built here and saved as a local keras-hub preset; the real commands load it
like any preset. Its images are noise: these tests check the job, not the pictures. They check
that the datasets pass the project's loaders and its two wrappers, that an interrupted job
resumes to exactly the uninterrupted job's dataset without rewriting finished images, and that
shards merge into the unsharded dataset.
"""

import json
import os
import shutil
import subprocess

import numpy as np
import pytest
import tensorflow as tf

from syrac.__main__ import main as syrac_main
from syrac.common.annotations import load_count_set, load_ranking_set
from syrac.common.errors import SyracError
from syrac.fixtures import make_count_set
from syrac.synth import command, generation
from syrac.synth.image_io import read_image
from syrac.synth.manifest import read_records
from tests.conftest import (
    SOURCE_SIZES,
    assert_same_dataset,
    count_arguments,
    dataset_files,
    pixels,
    removal_arguments,
    run_wrapper,
    start_synth,
    training_command,
)

def masks_for(folder, sources):
    """A mask per source with a white rectangle (the 'people') in its upper left part."""
    for key, (height, width) in SOURCE_SIZES.items():
        mask = np.zeros((height, width, 1), np.uint8)
        mask[: height // 2, : width // 2] = 255
        path = folder / f"{key}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        tf.io.write_file(str(path), tf.io.encode_png(mask))
    return folder


def finished_process(process, timeout=600):
    stdout, stderr = process.communicate(timeout=timeout)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def synth_in_process(*arguments):
    args = command.parser("python -m syrac synth").parse_args([str(a) for a in arguments])
    command.run(args)


@pytest.fixture(scope="module", autouse=True)
def reuse_loaded_models():
    """In-process runs of this module share loaded models (loading and tracing take seconds).

    Only a test-time saving: the subprocess runs and each first in-process run load for real.
    """
    cache, original = {}, command.load_model

    def load_once(*arguments):
        if arguments not in cache:
            cache[arguments] = original(*arguments)
        return cache[arguments]

    patch = pytest.MonkeyPatch()
    patch.setattr(command, "load_model", load_once)
    yield
    patch.undo()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="module")
def command_runs(sources, data_dir, preset):
    """Both commands typed as a researcher would, run side by side in two subprocesses."""
    removal = start_synth(*removal_arguments(sources, data_dir, preset, "rp", "--batch-size", "3"))
    counts = start_synth(*count_arguments(data_dir, preset, "nc", "--batch-size", "4"))
    return finished_process(removal), finished_process(counts)


@pytest.fixture(scope="module")
def removal_run(command_runs):
    return command_runs[0]


@pytest.fixture(scope="module")
def count_run(command_runs):
    return command_runs[1]


@pytest.mark.slow
def test_remove_people_writes_a_ranking_set(removal_run, data_dir):
    assert removal_run.returncode == 0, removal_run.stderr[-3000:]
    # 4 sources, --val-fraction 0.1: round(0.4) = 0, raised to one source, with its 2 copies.
    assert "rp/annotations.json: written (6 train, 2 val)" in removal_run.stdout
    splits = load_ranking_set(str(data_dir), "rp")  # the project's own validation
    assert sum(len(pairs) for pairs in splits.values()) == 8
    document = json.loads((data_dir / "rp" / "annotations.json").read_text())
    recorded = json.loads((data_dir / "rp" / "job.json").read_text())
    validation = set(recorded["split"]["val"])
    assert len(validation) == 1 and recorded["split"]["seed"] == 0
    for split, pairs in document.items():
        for pair in pairs:
            key = pair["info"]["item"].rsplit(".s", 1)[0]
            assert (key in validation) == (split == "val")  # split by source image
            assert pair["info"]["type"] == "diffusion_img2img"
            assert pair["info"]["strength"] in (0.5, 0.9)
            source = read_image(str(data_dir / pair["source_image"]))
            target = read_image(str(data_dir / pair["target_image"]))
            assert source.shape == target.shape == (*SOURCE_SIZES[key], 3)
            if key == "night/c":  # a grayscale source gets a grayscale copy
                assert np.array_equal(target[..., 0], target[..., 2])
            assert not np.allclose(source, target, atol=0.05)
    # Real images outside DATA are copied into the dataset, byte for byte.
    assert (data_dir / "rp" / "real" / "d.tif").read_bytes()[:4] in (b"II*\x00", b"MM\x00*")


@pytest.mark.slow
def test_ranking_manifest_records_how_each_image_was_made(removal_run, data_dir, preset):
    records = read_records(str(data_dir / "rp"))
    assert len(records) == 8
    record = records["night/c.s0.9.v0"]
    assert record["image"] == "rp/generated/night/c.s0.9.v0.png"  # a PNG source: PNG copy
    assert records["a.s0.9.v0"]["image"] == "rp/generated/a.s0.9.v0.jpg"
    assert record["preset"] == preset and record["dtype"] == "float32"
    assert record["strength"] == 0.9 and record["steps"] == 2 and record["guidance"] == 3.0
    assert "no people" in record["prompt"] and "people" in record["negative_prompt"]
    assert record["method"] == "img2img" and record["model_size"] == [32, 48]
    assert record["source_size"] == [36, 36] and record["grayscale"] is True
    assert len({r["seed"] for r in records.values()}) == 8


@pytest.mark.slow
def test_noisy_counts_writes_a_count_set(count_run, data_dir):
    assert count_run.returncode == 0, count_run.stderr[-3000:]
    items = load_count_set(str(data_dir), "nc")  # the project's own validation
    assert sorted(count for _, count in items) == [1, 1, 1, 5, 5, 5]
    records = read_records(str(data_dir / "nc"))
    for record in records.values():
        count = record["count"]
        assert f"{count} {'person' if count == 1 else 'people'}" in record["prompt"]
        assert record["template"] and record["scene"] and record["viewpoint"]
        assert record["output_size"] == [32, 48] and record["method"] == "text_to_image"
    assert "made 6 images" in count_run.stdout


@pytest.mark.slow
def test_a_finished_job_run_again_changes_nothing(count_run, data_dir, preset, capsys):
    folder = data_dir / "nc"
    before = {name: os.stat(folder / name) for name in dataset_files(folder)}
    synth_in_process(*count_arguments(data_dir, preset, "nc", "--batch-size", "4"))
    assert "6 done, 0 to make" in capsys.readouterr().out
    for name, stat in before.items():
        if name != "annotations.json":
            after = os.stat(folder / name)
            assert (after.st_ino, after.st_mtime_ns) == (stat.st_ino, stat.st_mtime_ns), name


class Interrupt:
    """Stand-in for a kill: raises KeyboardInterrupt at the n-th manifest record, before it is
    written (so that image is on disk without its record, as after a real kill)."""

    def __init__(self, monkeypatch, at):
        self.calls, self.at = 0, at
        self.append = generation.append_record
        monkeypatch.setattr(generation, "append_record", self)

    def __call__(self, path, record):
        self.calls += 1
        if self.calls == self.at:
            raise KeyboardInterrupt
        self.append(path, record)


@pytest.mark.slow
def test_an_interrupted_job_resumes_to_the_uninterrupted_dataset(
        removal_run, sources, data_dir, preset, tmp_path, monkeypatch, capsys):
    arguments = removal_arguments(sources, tmp_path, preset, "rp", "--batch-size", "3")
    interrupt = Interrupt(monkeypatch, at=5)
    with pytest.raises(KeyboardInterrupt):
        synth_in_process(*arguments)
    folder = tmp_path / "rp"
    assert not (folder / "annotations.json").exists()
    finished = read_records(str(tmp_path / "rp"))
    assert len(finished) == 4
    kept = {record["image"]: os.stat(tmp_path / record["image"]) for record in finished.values()}
    monkeypatch.setattr(generation, "append_record", interrupt.append)

    synth_in_process(*arguments)
    assert "4 done, 4 to make" in capsys.readouterr().out
    for name, stat in kept.items():  # finished images were not rewritten
        after = os.stat(tmp_path / name)
        assert (after.st_ino, after.st_mtime_ns) == (stat.st_ino, stat.st_mtime_ns), name
    assert_same_dataset(folder, data_dir / "rp")


@pytest.mark.slow
def test_shards_merge_into_the_unsharded_dataset(count_run, data_dir, preset, tmp_path, capsys):
    machines = [tmp_path / "machine0", tmp_path / "machine1"]
    for machine in machines:
        machine.mkdir()
    synth_in_process(*count_arguments(machines[0], preset, "nc", "--batch-size", "4",
                                      "--shard", "0/2"))
    output = capsys.readouterr().out
    assert "shard 0/2 holds 3 of the job's 6 images" in output and "3 of 6 images done" in output
    assert not (machines[0] / "nc" / "annotations.json").exists()
    first_shard = tmp_path / "first_shard"
    shutil.copytree(machines[0] / "nc", first_shard)

    # Shards sharing one folder: the last one to finish writes annotations.json.
    shutil.copytree(first_shard, machines[1] / "nc")
    synth_in_process(*count_arguments(machines[1], preset, "nc", "--batch-size", "4",
                                      "--shard", "1/2"))
    assert "annotations.json: written (6 images)" in capsys.readouterr().out
    assert sorted(os.listdir(machines[1] / "nc")) == [
        "annotations.json", "generated", "job.json", "manifest.shard-0-of-2.jsonl",
        "manifest.shard-1-of-2.jsonl",
    ]
    assert_same_dataset(machines[1] / "nc", data_dir / "nc")

    # Shards on two machines: copy the second one's folder over the first's, then merge.
    shutil.copytree(machines[1] / "nc", machines[0] / "nc", dirs_exist_ok=True)
    os.remove(machines[0] / "nc" / "annotations.json")
    synth_in_process("merge", "--data_dir", machines[0], "--out", "nc")
    assert_same_dataset(machines[0] / "nc", data_dir / "nc")


def test_merge_refuses_an_unfinished_job(preset, tmp_path):
    synth_in_process(*count_arguments(tmp_path, preset, "nc", "--shard", "0/3"))
    with pytest.raises(SyracError, match=r"2 of 6 images done \(33%\).*--partial"):
        synth_in_process("merge", "--data_dir", tmp_path, "--out", "nc")
    synth_in_process("merge", "--data_dir", tmp_path, "--out", "nc", "--partial")
    assert len(load_count_set(str(tmp_path), "nc")) == 2


def test_inpainting_with_masks_changes_only_the_masked_people(sources, preset, tmp_path):
    masks = masks_for(tmp_path / "masks", sources)
    synth_in_process(*removal_arguments(sources, tmp_path, preset, "inpainted",
                                        "--masks", masks, "--format", "png", "--variants", "2",
                                        "--strengths", "1.0"))
    document = json.loads((tmp_path / "inpainted" / "annotations.json").read_text())
    pairs = document["train"] + document["val"]
    assert len(pairs) == 8
    for pair in pairs:
        assert pair["info"]["type"] == "diffusion_inpaint" and pair["info"]["strength"] == 1.0
        source, target = pixels(tmp_path / pair["source_image"]), pixels(
            tmp_path / pair["target_image"])
        height, width = source.shape[:2]
        outside = np.ones((height, width), bool)
        outside[: height // 2, : width // 2] = False
        if not np.array_equal(source[..., 0], source[..., 1]):  # colour: exact outside the mask
            assert np.abs(source[outside] - target[outside]).max() <= 1
        assert np.abs(source[~outside] - target[~outside]).mean() > 5


def test_refusals_name_the_problem(sources, preset, tmp_path, capsys):
    empty = tmp_path / "empty_masks"
    masks_for(empty, sources)
    tf.io.write_file(str(empty / "a.png"), tf.io.encode_png(np.zeros((40, 56, 1), np.uint8)))
    with pytest.raises(SyracError, match=r"a\.png: the mask has no white pixel"):
        synth_in_process(*removal_arguments(sources, tmp_path, preset, "x", "--masks", empty))
    assert not (tmp_path / "x").exists()  # nothing recorded for a job that never started
    with pytest.raises(SyracError, match=r"--strengths must be in \(0, 1\]"):
        synth_in_process(*removal_arguments(sources, tmp_path, preset, "x", "--strengths", "0"))
    with pytest.raises(SyracError, match="--out must be a plain folder name"):
        synth_in_process(*removal_arguments(sources, tmp_path, preset, "../x"))
    # Through the dispatcher: one line, exit status 2.
    with pytest.raises(SystemExit) as exited:
        syrac_main(["synth", *map(str, count_arguments(tmp_path, tmp_path / "nope", "x"))])
    assert exited.value.code == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"python -m syrac synth: error: --preset {tmp_path / 'nope'}: no such folder"
    ]


@pytest.fixture(scope="module")
def synthetic_training_run(removal_run, data_dir, tmp_path_factory):
    """train_wrapper.py, the authors' command, pre-training on the generated ranking set."""
    assert removal_run.returncode == 0, removal_run.stderr[-3000:]
    runs = tmp_path_factory.mktemp("runs")
    argv = training_command(data_dir, runs, "synthetic", "--set", "epochs=1")
    argv[argv.index("--dataset") + 1] = "rp"
    return run_wrapper("train_wrapper.py", *argv), runs


@pytest.mark.slow
def test_train_wrapper_accepts_the_generated_ranking_set(synthetic_training_run):
    completed, runs = synthetic_training_run
    assert completed.returncode == 0, completed.stderr[-3000:]
    (run_dir,) = (runs / "synthetic" / "rp" / "0").iterdir()
    assert (run_dir / "best_model_01.keras").is_file()


@pytest.mark.slow
def test_finetune_wrapper_accepts_the_generated_count_set(synthetic_training_run, count_run,
                                                           data_dir):
    completed, runs = synthetic_training_run
    assert completed.returncode == 0 and count_run.returncode == 0
    make_count_set(str(data_dir), name="bench", images=4, split="test", seed=2)
    (run_dir,) = (runs / "synthetic" / "rp" / "0").iterdir()
    model_path = os.path.relpath(run_dir / "best_model_01.keras", runs)
    finetuned = run_wrapper(
        "finetune_wrapper.py", "--experiment", "finetuning/unsupervised/noisy_synth_regress",
        "--data_dir", data_dir, "--train_data", "nc", "--test_data", "bench", "--N", "2",
        "--experiment_path", runs, "--model_path", model_path, "--params_dir", "./config/",
        "--params", "tiny",
    )
    assert finetuned.returncode == 0, finetuned.stderr[-3000:]
    assert finetuned.stdout.strip().splitlines()[-1].endswith("on bench, N=2")
    probe = json.loads((run_dir / "best_model_01" / "noisy_synth_regression" / "probe" /
                        "probe.json").read_text())
    assert probe["n_samples"] == 6 and probe["train_data"] == "nc"


@pytest.mark.slow
def test_noisy_counts_zero_makes_empty_scenes_labelled_zero(data_dir, preset, tmp_path):
    from syrac.synth.prompts import EMPTY_NEGATIVE_PROMPT, EMPTY_TEMPLATES

    data = tmp_path / "data"
    shutil.copytree(data_dir, data)
    arguments = count_arguments(data, preset, "empty", "--quiet")
    arguments[arguments.index("--counts") + 1:arguments.index("--per-count")] = ["0", "2"]
    assert syrac_main(["synth", *map(str, arguments)]) == 0
    assert sorted(count for _, count in load_count_set(str(data), "empty")) == [0, 0, 0, 2, 2, 2]
    empty = [r for r in read_records(str(data / "empty")).values() if r["count"] == 0]
    assert sorted(r["template"] for r in empty) == sorted(EMPTY_TEMPLATES)
    assert all(r["negative_prompt"] == EMPTY_NEGATIVE_PROMPT for r in empty)
