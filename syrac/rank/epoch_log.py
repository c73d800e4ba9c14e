"""Each epoch's numbers, written once: a ``results.csv`` row and TensorBoard scalars.

Keras's ``CSVLogger`` appends and its ``TensorBoard`` callback streams into one events file per
process, so an epoch that a resumed run trains again appears twice in both. :class:`EpochLog`
writes them so that an epoch written again replaces itself:

- ``results.csv`` keeps ``CSVLogger``'s format (``epoch`` then the logged keys, sorted) and is
  rewritten whole through a rename at every epoch end, holding the rows of the epochs before
  and this one's: never a half row, never a second row for one epoch;
- TensorBoard gets one events file per epoch and side, ``logs/train/`` and ``logs/validation/``
  (the layout of Keras's callback, scalars named ``epoch_<key>``), written under a temporary
  name and renamed to ``events.out.tfevents.epoch-NNNN.v2``. The graph is not written.
"""

import csv
import io
import os
import shutil
import tempfile

import keras
import tensorflow as tf

from syrac.common.files import write_atomic
from syrac.rank.run_folder import RunFolder, read_rows

EPOCH_FILE_PATTERN = "events.out.tfevents.epoch-*.v2"


def _write_rows(results_csv, fieldnames, rows):
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=fieldnames, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_atomic(results_csv, text.getvalue().encode("utf-8"))


def _epoch_of(row):
    try:
        return int(row.get("epoch", ""))
    except ValueError:
        return None


def _one_row_per_epoch(rows, before):
    """The rows of epochs < ``before``, one per epoch (the last written), in epoch order."""
    last = {}
    for row in rows:
        if _epoch_of(row) is not None and _epoch_of(row) < before:
            last[_epoch_of(row)] = row
    return [last[epoch] for epoch in sorted(last)]


def keep_epochs_before(results_csv, epoch):
    """Keep in ``results.csv`` one row per epoch < ``epoch`` (the last written, should an edit
    or a damaged copy have repeated one), in epoch order; True if anything was dropped."""
    fieldnames, rows = read_rows(results_csv)
    kept = _one_row_per_epoch(rows, epoch)
    if kept == rows:
        return False
    _write_rows(results_csv, fieldnames, kept)
    return True


def write_epoch_row(results_csv, epoch, logs):
    """Set the row of ``epoch`` (0-based) to ``logs``, keeping the earlier epochs' rows."""
    keys = sorted(logs)
    fieldnames, rows = read_rows(results_csv)
    fieldnames = ["epoch", *keys] if not fieldnames else fieldnames
    kept = _one_row_per_epoch(rows, epoch)
    kept.append({"epoch": epoch, **{key: logs[key] for key in keys if key in fieldnames}})
    _write_rows(results_csv, fieldnames, kept)


def write_epoch_scalars(log_dir, side, epoch, scalars):
    """One events file holding ``scalars`` at step ``epoch`` under ``log_dir/side``."""
    folder = os.path.join(log_dir, side)
    os.makedirs(folder, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".epoch-", suffix=".tmp", dir=folder)
    try:
        writer = tf.summary.create_file_writer(staging)
        with writer.as_default():
            for name, value in sorted(scalars.items()):
                tf.summary.scalar(name, float(value), step=epoch)
        writer.close()
        (written,) = os.listdir(staging)
        os.replace(os.path.join(staging, written),
                   os.path.join(folder, f"events.out.tfevents.epoch-{epoch:04d}.v2"))
    finally:
        shutil.rmtree(staging, ignore_errors=True)


class EpochLog(keras.callbacks.Callback):
    """At every epoch end: the epoch's ``results.csv`` row, then its TensorBoard scalars."""

    def __init__(self, run_dir):
        super().__init__()
        folder = RunFolder(run_dir)
        self.results_csv = folder.results_csv
        self.log_dir = folder.logs_folder

    def on_epoch_end(self, epoch, logs=None):
        logs = {key: float(value) for key, value in (logs or {}).items()}
        write_epoch_row(self.results_csv, epoch, logs)
        train = {f"epoch_{key}": value for key, value in logs.items()
                 if not key.startswith("val_")}
        validation = {f"epoch_{key[len('val_'):]}": value for key, value in logs.items()
                      if key.startswith("val_")}
        write_epoch_scalars(self.log_dir, "train", epoch, train)
        if validation:
            write_epoch_scalars(self.log_dir, "validation", epoch, validation)
