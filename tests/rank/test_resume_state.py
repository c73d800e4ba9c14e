"""The pieces a resume rests on, one by one: epoch rows and scalars written once, the folder taken
back to its backup, the random state and metric totals restored, early stopping's replay."""

import types

import keras
import numpy as np
import pytest
import tensorflow as tf

from syrac.rank.augmentation import RankingAugmentation
from syrac.rank.callbacks import stopped_early_in
from syrac.rank.epoch_log import write_epoch_row, write_epoch_scalars
from syrac.rank.run_folder import read_rows
from syrac.rank.resume import (
    RestoreEpochMetrics,
    capture_state,
    reconcile_run_folder,
    restore_random_state,
)


def test_an_epoch_written_again_replaces_its_row(tmp_path):
    path = tmp_path / "results.csv"
    write_epoch_row(str(path), 0, {"loss": 0.5, "val_loss": 0.6})
    write_epoch_row(str(path), 1, {"loss": 0.4, "val_loss": 0.5})
    write_epoch_row(str(path), 1, {"loss": 0.3, "val_loss": 0.45})  # epoch 1 again, after a kill
    fieldnames, rows = read_rows(str(path))
    assert fieldnames == ["epoch", "loss", "val_loss"]
    assert [(row["epoch"], float(row["loss"])) for row in rows] == [("0", 0.5), ("1", 0.3)]
    assert not list(tmp_path.glob("*.tmp"))


def _folder_with_three_epochs(run_dir):
    for epoch in range(3):
        write_epoch_row(str(run_dir / "results.csv"), epoch, {"loss": 1.0 - epoch / 10})
        for side in ("train", "validation"):
            write_epoch_scalars(str(run_dir / "logs"), side, epoch, {"epoch_loss": 1.0})
        (run_dir / f"best_model_{epoch + 1:02d}.keras").write_bytes(b"zip")
    (run_dir / "best_model_04.partial.keras").write_bytes(b"half")
    (run_dir / "status.json.123.tmp").write_text("{")
    (run_dir / "logs" / "train" / ".epoch-x.tmp").mkdir()
    backup = run_dir / "backup"
    backup.mkdir()
    for name in ("step_00000004.weights.h5", "step_00000006.weights.h5", "position.json.9.tmp"):
        (backup / name).write_bytes(b"h5")
    (backup / "position.json").write_text("{}")


def test_a_folder_goes_back_to_what_its_backup_committed(tmp_path):
    _folder_with_three_epochs(tmp_path)
    removed = reconcile_run_folder(str(tmp_path), {"epoch": 1, "batch": 1, "global_step": 4,
                                                   "weights": "step_00000004.weights.h5"})
    assert [row["epoch"] for row in read_rows(str(tmp_path / "results.csv"))[1]] == ["0"]
    assert sorted(p.name for p in tmp_path.glob("best_model_*")) == ["best_model_01.keras"]
    for side in ("train", "validation"):
        assert [p.name for p in (tmp_path / "logs" / side).iterdir()] == [
            "events.out.tfevents.epoch-0000.v2"]
    assert sorted(p.name for p in (tmp_path / "backup").iterdir()) == [
        "position.json", "step_00000004.weights.h5"]
    assert not list(tmp_path.glob("*.tmp"))
    assert "best_model_02.keras" in removed and "best_model_04.partial.keras" in removed


def test_without_a_backup_nothing_of_any_epoch_is_kept(tmp_path):
    _folder_with_three_epochs(tmp_path)
    reconcile_run_folder(str(tmp_path), None)
    assert read_rows(str(tmp_path / "results.csv"))[1] == []
    assert not list(tmp_path.glob("best_model_*")) and not list((tmp_path / "backup").iterdir())


def test_restored_random_state_draws_the_same_augmentation_again():
    keras.utils.set_random_seed(1)
    images = keras.Input((16, 24, 3))
    model = keras.Model(images, RankingAugmentation(2.0)(images, training=True))
    batch = tf.random.uniform([4, 16, 24, 3])
    state = capture_state(model)
    assert len(state["seed_generators"]) == 6  # one per stage: flip, zoom, blur, colour, contrast, noise
    first = model(batch, training=True).numpy()
    second = model(batch, training=True).numpy()
    assert np.abs(first - second).max() > 0.01  # the generators moved on
    restore_random_state(model, state)
    np.testing.assert_array_equal(model(batch, training=True).numpy(), first)


def test_epoch_metrics_restart_from_the_backup_totals():
    tracker = keras.metrics.Mean()
    tracker.update_state([2.0, 4.0])
    model = types.SimpleNamespace(metrics_variables=tracker.variables)
    saved = {"metrics": [np.asarray(v.numpy()).tolist() for v in tracker.variables]}
    tracker.reset_state()  # what fit does at the start of the resumed epoch
    callback = RestoreEpochMetrics(saved)
    callback.set_model(model)
    callback.on_epoch_begin(0)
    tracker.update_state([6.0])
    assert float(tracker.result()) == pytest.approx(4.0)  # (2 + 4 + 6) / 3, not 6


@pytest.mark.parametrize("seed", range(6))
def test_early_stopping_replay_stops_where_keras_stops(seed):
    rng = np.random.default_rng(seed)
    history = list(rng.uniform(0, 1, size=8).round(2))
    patience = int(rng.integers(0, 4))
    callback = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, mode="min")
    callback.set_model(types.SimpleNamespace(stop_training=False))
    callback.on_train_begin()
    stopped_at = None
    for epoch, value in enumerate(history):
        callback.on_epoch_end(epoch, {"val_loss": value})
        if callback.model.stop_training:
            stopped_at = epoch
            break
    for length in range(len(history) + 1):
        expected = stopped_at is not None and stopped_at < length
        assert stopped_early_in(history[:length], patience) == expected, (history, patience)
