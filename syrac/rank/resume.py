"""What makes a resumed pre-training run the run that was killed, and its folder a clean one.

Two things, both keyed to the last backup (``backup/position.json``, :mod:`syrac.rank.callbacks`):

- **State beyond the weights.** ``model.save_weights`` keeps the layers' weights and the optimizer,
  but not the augmentation's random generators (Keras ``SeedGenerator`` states) nor the running
  totals of the epoch's metrics. :func:`capture_state` reads both into the position record and
  :func:`restore_random_state` / :class:`RestoreEpochMetrics` put them back, so the batches after a
  resume get the draws the unbroken run gave them and the epoch's logged loss and accuracy
  average over the whole epoch, not over the batches since the resume.
- **The folder.** An epoch ends by writing, in order, its ``results.csv`` row and TensorBoard
  scalars, its checkpoint, and then the backup that commits it. A kill can fall between any two:
  :func:`reconcile_run_folder` takes the folder back to what the backup says is done (rows,
  checkpoints and TensorBoard files of later epochs removed, temporary and orphaned files
  removed), and the resumed run writes them again, with the same numbers.
"""

import glob
import os
import shutil

import keras
import numpy as np

from syrac.rank.epoch_log import EPOCH_FILE_PATTERN, keep_epochs_before
from syrac.rank.run_folder import POSITION_FILE, RunFolder, RunLock


def random_state_variables(model):
    """The state variables of every Keras seed generator in ``model``, in a fixed order."""
    return [variable for variable in model.variables
            if variable.path.endswith("seed_generator_state")]


def capture_state(model):
    """``{"seed_generators": [...], "metrics": [...]}``: what the weights file leaves out."""
    return {
        "seed_generators": [np.asarray(v.numpy()).tolist()
                            for v in random_state_variables(model)],
        "metrics": [np.asarray(v.numpy()).tolist() for v in model.metrics_variables],
    }


def restore_random_state(model, state):
    """Put the seed generators back where the backup found them."""
    saved = (state or {}).get("seed_generators")
    if saved is None:
        return
    variables = random_state_variables(model)
    if len(saved) != len(variables):
        raise ValueError(
            f"the backup holds {len(saved)} random generator states, the model has "
            f"{len(variables)}: it was written by another model"
        )
    for variable, value in zip(variables, saved):
        variable.assign(np.asarray(value, dtype=variable.dtype))


class RestoreEpochMetrics(keras.callbacks.Callback):
    """At the start of the resumed epoch, set the metrics' running totals to the backup's.

    ``fit`` resets the metrics just before ``on_epoch_begin``; this runs right after, once.
    """

    def __init__(self, state):
        super().__init__()
        self.saved = (state or {}).get("metrics")

    def on_epoch_begin(self, epoch, logs=None):
        if self.saved is None:
            return
        variables = self.model.metrics_variables
        if len(variables) != len(self.saved):
            raise ValueError(
                f"the backup holds {len(self.saved)} metric totals, the model has "
                f"{len(variables)}: it was written by another model"
            )
        for variable, value in zip(variables, self.saved):
            variable.assign(np.asarray(value, dtype=variable.dtype))
        self.saved = None


def remove_leftovers(run_dir):
    """Remove what killed writes left in ``run_dir``: ``*.tmp`` files and folders (the atomic
    writer's, the epoch log's staging) and ``*.partial.keras`` checkpoints; return their names."""
    removed = []
    for path in glob.glob(os.path.join(run_dir, "**", "*.tmp"), recursive=True,
                          include_hidden=True) + glob.glob(
                              os.path.join(run_dir, "*.partial.keras")):
        if os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)
        elif os.path.isfile(path):
            os.remove(path)
        removed.append(os.path.relpath(path, run_dir))
    return removed


def tidy_finished_run(run_dir):
    """Remove what a kill after a run's last status left behind (its backup, temporary files,
    the worker folders of a multi-worker run); return the run's state. A folder another
    process holds is left as it is."""
    from syrac.rank.multi_worker import worker_folders

    lock = RunLock(run_dir)
    run_folder = RunFolder(run_dir)
    if lock.acquire():
        try:
            run_folder.remove_backup()
            remove_leftovers(run_dir)
            for worker in worker_folders(run_dir):  # other workers' of a multi-worker run
                shutil.rmtree(worker, ignore_errors=True)
        finally:
            lock.release()
    return run_folder.status().get("state")


def reconcile_run_folder(run_dir, position):
    """Take ``run_dir`` back to the point its last backup committed; return what was removed.

    ``position`` is :meth:`syrac.rank.run_folder.RunFolder.backup_position`'s record (None: nothing
    committed, so no epoch is done). Kept: the first ``position["epoch"]`` epochs' rows,
    checkpoints and TensorBoard files, and the backup files ``position`` names. Removed:
    everything of later epochs, and the temporary files of a killed write (``*.tmp``,
    ``*.partial.keras``, backup files no position names).
    """
    done = position["epoch"] if position else 0

    def remove(path):
        if os.path.isfile(path):
            os.remove(path)
            removed.append(os.path.relpath(path, run_dir))

    folder = RunFolder(run_dir)
    removed = remove_leftovers(run_dir)
    for epoch, path in folder.checkpoints().items():
        if epoch > done:
            remove(path)
    for path in glob.glob(os.path.join(folder.logs_folder, "*", EPOCH_FILE_PATTERN)):
        stem = os.path.basename(path).rsplit("epoch-", 1)[-1].split(".")[0]
        if not stem.isdigit() or int(stem) >= done:
            remove(path)
    named = set()
    if position:
        named = {POSITION_FILE, position["weights"]}
    for path in glob.glob(os.path.join(folder.backup_folder, "*")):
        if os.path.basename(path) not in named:
            remove(path)
    if keep_epochs_before(folder.results_csv, done):
        removed.append(f"results.csv rows of epochs >= {done} or repeated")
    return removed
