"""Keras callbacks of a pre-training run: encoder checkpoints, resumable backups, early stopping."""

import math
import os
import shutil

import keras

from syrac.common.files import read_json, write_json_atomic
from syrac.rank.epoch_log import read_rows
from syrac.rank.precision import float32_copy
from syrac.rank.resume import capture_state
from syrac.rank.run_folder import checkpoint_path


class EncoderCheckpoint(keras.callbacks.Callback):
    """Save only the encoder after every epoch as ``best_model_XX.keras`` (authors: every epoch).

    The file is written under a temporary name and renamed, so a kill never leaves half a
    checkpoint behind under the real name.
    """

    def __init__(self, run_dir):
        super().__init__()
        self.run_dir = run_dir

    def on_epoch_end(self, epoch, logs=None):
        path = checkpoint_path(self.run_dir, epoch + 1)
        temporary = path[: -len(".keras")] + ".partial.keras"
        float32_copy(self.model.encoder).save(temporary)  # counting loads float32 encoders
        os.replace(temporary, path)


class TrainingBackup(keras.callbacks.Callback):
    """Keep the state needed to resume: weights, optimizer state and the schedule position.

    Every ``every_n_batches`` batches and at each epoch end the model's weights (optimizer
    included) go to ``backup/step_<global step>.weights.h5`` and ``backup/position.json`` is
    replaced atomically to point at it, so the pointer always names a complete file. The
    position also holds the random generators' states and the epoch's metric totals
    (:func:`syrac.rank.resume.capture_state`). Writing the position commits the backup: this
    callback runs last at an epoch's end, after the epoch's row, scalars and checkpoint.

    Args:
        run_dir: the run folder.
        steps_per_epoch: full batches in one epoch.
        every_n_batches: backup cadence inside an epoch.
        first_batch: batches of the current epoch already done before this ``fit`` call.
        keep_previous: also keep the backup before the last (its record goes in the
            position's ``"previous"``): with several workers a kill can fall between their
            writes of one backup, and they resume from the one they all hold
            (:func:`syrac.rank.multi_worker.agreed_backup`).
    """

    def __init__(self, run_dir, steps_per_epoch, every_n_batches, first_batch=0,
                 keep_previous=False):
        super().__init__()
        self.folder = os.path.join(run_dir, "backup")
        self.steps_per_epoch = steps_per_epoch
        self.every_n_batches = every_n_batches
        self.first_batch = first_batch
        self.keep_previous = keep_previous
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        done = self.first_batch + batch + 1
        if done % self.every_n_batches == 0 and done < self.steps_per_epoch:
            self.save(self.epoch, done)

    def on_epoch_end(self, epoch, logs=None):
        self.first_batch = 0
        self.save(epoch + 1, 0)

    def save(self, epoch, batch):
        os.makedirs(self.folder, exist_ok=True)
        step = epoch * self.steps_per_epoch + batch
        weights = os.path.join(self.folder, f"step_{step:08d}.weights.h5")
        self.model.save_weights(weights, overwrite=True)
        record = {"epoch": epoch, "batch": batch, "global_step": step,
                  "weights": os.path.basename(weights), "state": capture_state(self.model)}
        held = backup_records(os.path.dirname(self.folder))
        if self.keep_previous and held and held[0]["weights"] != record["weights"]:
            record["previous"] = held[0]
        write_json_atomic(os.path.join(self.folder, "position.json"), record)
        kept = {record["weights"], record.get("previous", {}).get("weights")}
        for old in held:
            path = os.path.join(self.folder, old["weights"])
            if old["weights"] not in kept and os.path.exists(path):
                os.remove(path)


def read_backup_position(run_dir):
    """Return ``{"epoch", "batch", "global_step", "weights", "state"}`` of the last backup, or
    None."""
    records = backup_records(run_dir)
    return records[0] if records else None


def backup_records(run_dir):
    """The backups ``backup/position.json`` records whose weights exist, newest first: the
    last one and, when kept, the one before it (without its own ``"previous"``)."""
    position = read_json(os.path.join(run_dir, "backup", "position.json"), default=None)
    records = []
    while position is not None:
        record = {key: value for key, value in position.items() if key != "previous"}
        if os.path.isfile(os.path.join(run_dir, "backup", record["weights"])):
            records.append(record)
        position = position.get("previous")
    return records


def adopt_backup(run_dir, record):
    """Make ``record`` (an older backup every worker holds) the last backup of ``run_dir``."""
    write_json_atomic(os.path.join(run_dir, "backup", "position.json"), record)


def remove_backup(run_dir):
    """Delete the backup folder once the run has finished."""
    shutil.rmtree(os.path.join(run_dir, "backup"), ignore_errors=True)


def logged_history(results_csv, monitor, before_epoch):
    """Return the ``monitor`` values that ``results.csv`` holds for epochs < ``before_epoch``."""
    values = {}
    for row in read_rows(results_csv)[1]:
        try:
            epoch = int(row["epoch"])
            value = float(row[monitor])
        except (KeyError, TypeError, ValueError):
            continue
        if epoch < before_epoch and math.isfinite(value):
            values[epoch] = value
    return [values[epoch] for epoch in sorted(values)]


def stopped_early_in(history, patience):
    """Whether ``EarlyStopping(patience)`` on a minimised value would have stopped training
    at one of the epochs of ``history`` (Keras's rule: ``patience`` epochs without a new
    minimum; the first epoch is always one)."""
    best, wait = math.inf, 0
    for value in history:
        wait += 1
        if value < best:
            best, wait = value, 0
        elif wait >= patience:
            return True
    return False


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """``EarlyStopping`` that, when a run resumes, replays the epochs already in results.csv.

    Without the replay a resumed run would forget how many epochs had passed without a
    ``val_loss`` improvement and train past the authors' patience.
    """

    def __init__(self, results_csv, resumed_epoch, **kwargs):
        super().__init__(**kwargs)
        self.results_csv = results_csv
        self.resumed_epoch = resumed_epoch
        self.triggered = False

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        history = logged_history(self.results_csv, self.monitor, self.resumed_epoch)
        if history and self.monitor_op is None:
            self._set_monitor_op()
        for value in history:
            self.wait += 1
            if self._is_improvement(value, self.best):
                self.best = value
                self.wait = 0

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        if self.model.stop_training:
            self.triggered = True
