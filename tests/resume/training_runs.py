"""Training runs for the resume tests: the command, its run folder, and "the same run"."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from syrac.rank.run_folder import RunFolder
from tests.conftest import training_command

# Float rounding: a resumed run does the same float32 operations on the same values in the
# same order (two unbroken runs agree to the last bit), so 1e-6 relative leaves room for none
# else.
TOLERANCE = 1e-6
EPOCHS = 2
STEPS = 3  # 12 pairs, batch 4


def command(data, runs, model="tiny_cnn", epochs=EPOCHS):
    return ["train_wrapper.py", *training_command(
        data, runs, "sweep", "--set", f"epochs={epochs}", "batch_size=4", "input_shape=[48,64,3]",
        "backup_every_n_batches=2", "num_layers=0", "learning_rate=1e-3", f"model_name={model}",
        "--patience", "10")]


def run_folder(runs):
    root = runs / "sweep" / "rank" / "0"
    folders = [p for p in root.iterdir() if not p.name.startswith(".")] if root.is_dir() else []
    return folders[0] if len(folders) == 1 else None


def resume(runs, data, model="tiny_cnn", epochs=EPOCHS):
    run_dir = run_folder(runs)
    if run_dir is None:
        return command(data, runs, model, epochs)
    return ["train_wrapper.py", "--experiment", "training/baseline", "--resume", run_dir]


def files(run_dir):
    return sorted(str(p.relative_to(run_dir)) for p in run_dir.rglob("*") if p.is_file())



def logged_scalars(run_dir):
    """``{(side, tag, step): value}`` from the TensorBoard files; fails on a repeated entry."""
    found = {}
    for path in sorted((run_dir / "logs").rglob("*tfevents*")):
        for record in tf.data.TFRecordDataset(str(path)):
            event = tf.compat.v1.Event.FromString(record.numpy())
            for value in event.summary.value:
                key = (path.parent.name, value.tag, event.step)
                assert key not in found, f"{key} logged twice"
                found[key] = float(tf.make_ndarray(value.tensor))
    return found


def assert_same_run(run_dir, reference, epochs=EPOCHS):
    """The folder and the numbers of ``run_dir`` are those of the unbroken ``reference``."""
    assert files(run_dir) == files(reference)
    assert [row["epoch"] for row in RunFolder(run_dir).rows()] == [str(e) for e in range(epochs)]
    assert [p.name for p in sorted(run_dir.glob("best_model_*.keras"))] == [
        f"best_model_{e:02d}.keras" for e in range(1, epochs + 1)]
    status, expected = (json.loads((folder / "status.json").read_text())
                        for folder in (run_dir, reference))
    assert status["state"] == expected["state"] == "completed"
    assert status["optimizer_steps"] == expected["optimizer_steps"] == epochs * STEPS

    rows, want_rows = RunFolder(run_dir).rows(), RunFolder(reference).rows()
    assert len({row["loss"] for row in want_rows}) == epochs  # the run learns: numbers move
    for row, want in zip(rows, want_rows):
        assert row.keys() == want.keys()
        for key in row:
            assert float(row[key]) == pytest.approx(float(want[key]), rel=TOLERANCE, abs=1e-9)
    scalars, want_scalars = logged_scalars(run_dir), logged_scalars(reference)
    assert scalars.keys() == want_scalars.keys()
    assert {step for _, _, step in scalars} == set(range(epochs))
    for key, value in scalars.items():
        assert value == pytest.approx(want_scalars[key], rel=TOLERANCE, abs=1e-9)
    for epoch in range(1, epochs + 1):
        name = f"best_model_{epoch:02d}.keras"
        got = keras.models.load_model(run_dir / name, compile=False).get_weights()
        want = keras.models.load_model(reference / name, compile=False).get_weights()
        for a, b in zip(got, want):
            np.testing.assert_allclose(a, b, rtol=TOLERANCE, atol=1e-7)


