"""Keras callbacks of a pre-training run: encoder checkpoints, resumable backups, early stopping."""

import math
import os

import keras

from syrac.rank.precision import float32_copy
from syrac.rank.resume import capture_state
from syrac.rank.run_folder import RunFolder


class EncoderCheckpoint(keras.callbacks.Callback):
    """Save only the encoder after every epoch as ``best_model_XX.keras`` (authors: every epoch).

    The file is written under a temporary name and renamed, so a kill never leaves half a
    checkpoint behind under the real name.
    """

    def __init__(self, run_dir):
        super().__init__()
        self.run_folder = RunFolder(run_dir)

    def on_epoch_end(self, epoch, logs=None):
        path = self.run_folder.checkpoint(epoch + 1)
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
        self.run_folder = RunFolder(run_dir)
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
        folder = self.run_folder
        os.makedirs(folder.backup_folder, exist_ok=True)
        step = epoch * self.steps_per_epoch + batch
        weights = folder.backup_file(f"step_{step:08d}.weights.h5")
        self.model.save_weights(weights, overwrite=True)
        record = {"epoch": epoch, "batch": batch, "global_step": step,
                  "weights": os.path.basename(weights), "state": capture_state(self.model)}
        held = folder.backup_records()
        if self.keep_previous and held and held[0]["weights"] != record["weights"]:
            record["previous"] = held[0]
        folder.commit_backup(record)
        kept = {record["weights"], record.get("previous", {}).get("weights")}
        for old in held:
            path = folder.backup_file(old["weights"])
            if old["weights"] not in kept and os.path.exists(path):
                os.remove(path)


def logged_history(run_folder, monitor, before_epoch):
    """Return the ``monitor`` values that ``results.csv`` holds for epochs < ``before_epoch``."""
    values = run_folder.logged(monitor)
    return [values[epoch] for epoch in sorted(values) if epoch < before_epoch]


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

    def __init__(self, run_folder, resumed_epoch, **kwargs):
        super().__init__(**kwargs)
        self.run_folder = run_folder
        self.resumed_epoch = resumed_epoch
        self.triggered = False

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        history = logged_history(self.run_folder, self.monitor, self.resumed_epoch)
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
