"""One pre-training run: data -> model -> ``fit`` with the run folder's callbacks, resumable.

A run that is killed and started again continues at the batch after its last backup, with its
weights, optimizer state, random generators and the epoch's metric totals
(:mod:`syrac.rank.resume`): the partly done epoch is finished first (a ``fit`` call over its
remaining batches), then the remaining epochs run as usual. Before training, the folder is taken
back to what the backup committed, so an epoch whose end a kill interrupted is written again,
once. Early stopping replays the ``val_loss`` history already in ``results.csv``; a run killed
after early stopping had decided to stop ends without training further.

With several workers (:mod:`syrac.rank.multi_worker`) every worker runs this same function: the
chief in the run folder, each other worker in its own worker folder, which gets the same
backups and epoch log but no checkpoints. The workers resume from the backup they all hold.
"""


import os

import keras
import tensorflow as tf

from syrac.common.errors import SyracError, first_line
from syrac.common.images import undecodable_images_named
from syrac.rank.callbacks import (
    EncoderCheckpoint,
    ResumableEarlyStopping,
    TrainingBackup,
    logged_history,
    stopped_early_in,
)
from syrac.rank.distribution import Distribution
from syrac.rank.epoch_log import EpochLog
from syrac.rank.multi_worker import agreed_backup, barrier
from syrac.rank.pipeline import (
    steps_per_epoch,
    training_schedule,
    validation_batch_size,
    validation_pairs,
)
from syrac.rank.preemption import StopOnNotice, preemption_notices
from syrac.rank.ranking_model import build_ranking_model, compile_ranking_model
from syrac.rank.resume import RestoreEpochMetrics, reconcile_run_folder, restore_random_state
from syrac.rank.run_folder import UNFINISHED, RunFolder


def initial_encoder(params, seed):
    """The encoder a run with this seed starts pre-training from, before any step.

    :func:`syrac.rank.training.pretrain` runs after ``keras.utils.set_random_seed(seed)`` and builds
    the encoder first; doing the same here gives the same initial weights, which is what "the
    same encoder, untrained" means in the demo's comparison.
    """
    keras.utils.set_random_seed(seed)
    return build_ranking_model(params).encoder


def save_initial_encoder(params, seed, path):
    """Save :func:`initial_encoder` to ``path`` unless it exists; the file appears whole.

    What the table's and the demo's "untrained" rows count with: the encoder a pre-training
    with this seed would start from.
    """
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        temporary = path[: -len(".keras")] + f".{os.getpid()}.partial.keras"
        initial_encoder(params, seed).save(temporary)
        os.replace(temporary, path)
    return path


def build_and_restore(params, run_dir, distribution):
    """Build and compile the ranking model under the distribution's strategy; load the last
    backup if any (with several workers, the last one they all hold).

    Returns:
        (model, position) where position is the backup's ``{"epoch", "batch", ...}`` or None.
    """
    height, width, channels = params["input_shape"]
    strategy, cluster = distribution.strategy, distribution.cluster
    with strategy.scope():
        model = build_ranking_model(params)
        compile_ranking_model(model, params)
        blank = tf.zeros([1, height, width, channels])
        model((blank, blank), training=False)  # build before restoring or fitting
        # Built here, the optimizer's variables are not created inside the first traced train
        # step, which tf.function would otherwise trace twice (once to create them).
        model.optimizer.build(model.trainable_variables)
        folder = RunFolder(run_dir)
        position = folder.backup_position()
        if cluster is not None:
            position = agreed_backup(strategy, cluster, folder.backup_records())
            if position is not None and position != folder.backup_position():
                folder.commit_backup(position)  # an older backup every worker holds
        if position is not None:
            _load_backup(model, folder.backup_file(position["weights"]), folder.backup_folder)
            restore_random_state(model, position.get("state"))
    return model, position


def _load_backup(model, path, backup_folder):
    """Load a backup's weights, or refuse naming the file when they do not read back whole (a
    disk that filled up, a copy cut short); nothing in the run folder is removed."""
    try:
        model.load_weights(path)
    except Exception as error:  # noqa: BLE001 (h5py and Keras raise many kinds)
        raise SyracError(
            f"{path}: the backup's weights cannot be read ({first_line(error)}); this run "
            f"cannot resume from it. Move {backup_folder} away to train the run again from "
            "its start, or start a new run") from None


def _callbacks(run_dir, params, patience, steps, first_batch, resumed_epoch, metric_state,
               distribution):
    """The run's callbacks, in the order an epoch's end must write: row and scalars,
    checkpoint (the chief's alone), early-stopping decision, then the backup that commits
    them; last, the stop on a pre-emption notice (:mod:`syrac.rank.preemption`)."""
    early_stopping = ResumableEarlyStopping(
        RunFolder(run_dir), resumed_epoch, monitor="val_loss", patience=patience, mode="min"
    )
    backup = TrainingBackup(run_dir, steps, params["backup_every_n_batches"], first_batch,
                            keep_previous=distribution.several_workers)
    callbacks = [
        RestoreEpochMetrics(metric_state),
        EpochLog(run_dir),
        *([EncoderCheckpoint(run_dir)] if distribution.is_chief else []),
        early_stopping,
        backup,
        # A worker cannot back up alone mid-epoch: the backup reads metrics all workers hold.
        StopOnNotice(backup, back_up=not distribution.several_workers),
    ]
    return callbacks, early_stopping


def _check_enough_pairs(splits, params, replicas):
    if len(splits["train"]) < params["batch_size"]:
        raise SyracError(
            f"the train split has {len(splits['train'])} pair(s), fewer than batch_size="
            f"{params['batch_size']}: no full batch to train on"
        )
    if params["batch_size"] % replicas:
        raise SyracError(
            f"batch_size={params['batch_size']} must be a multiple of the {replicas} "
            "replicas of the distribution strategy"
        )


def pretrain(splits, params, run_dir, *, seed, patience, distribution=None, run_eagerly=False,
             verbose="auto"):
    """Train (or resume) the ranking model of one run folder; return the final status dict.

    Args:
        splits: ``{"train": pairs, "val": pairs}`` from :func:`syrac.common.annotations.load_ranking_set`.
        params: validated hyper-parameters.
        run_dir: the run folder (already holding hyperparams.json and args.json); for a
            worker other than the chief, its worker folder.
        seed: the run's seed (shuffling, initialisation, augmentation).
        patience: early-stopping patience on ``val_loss``.
        distribution: the :class:`~syrac.rank.distribution.Distribution` to train under
            (default: TensorFlow's default strategy, one process).
    """
    distribution = distribution or Distribution.named("default")
    replicas = distribution.replicas
    _check_enough_pairs(splits, params, replicas)
    steps = steps_per_epoch(len(splits["train"]), params["batch_size"])
    epochs = params["epochs"]

    model, position = build_and_restore(params, run_dir, distribution)
    reconcile_run_folder(run_dir, position)
    epoch, batch = (position["epoch"], position["batch"]) if position else (0, 0)
    if position and epoch < epochs:
        print(f"Resuming {run_dir} at epoch {epoch + 1}, batch {batch + 1} of {steps}.")
    model.run_eagerly = run_eagerly
    folder = RunFolder(run_dir)
    folder.write_status(UNFINISHED, steps_per_epoch=steps, epochs=epochs, replicas=replicas)

    validation = validation_pairs(
        splits["val"], params["input_shape"],
        validation_batch_size(params["val_batch_size"], replicas), replicas)
    phases = []
    stopped_early = stopped_early_in(
        logged_history(folder, "val_loss", epoch), patience)
    if stopped_early:
        epoch = epochs  # killed after early stopping had decided; nothing left to train
    metric_state = position.get("state") if position and batch > 0 else None
    if batch > 0 and epoch < epochs:
        phases.append((epoch, epoch + 1, steps - batch, batch))
        epoch += 1
    if epoch < epochs:
        phases.append((epoch, epochs, steps, 0))

    paths = [path for pair in splits["train"] + splits["val"] for path in pair]
    with undecodable_images_named(paths), preemption_notices():
        for first_epoch, last_epoch, phase_steps, first_batch in phases:
            schedule = training_schedule(
                splits["train"], params["input_shape"], params["batch_size"], epochs,
                seed, params["shuffle_buffer"], start_step=first_epoch * steps + first_batch,
            )
            callbacks, early_stopping = _callbacks(
                run_dir, params, patience, steps, first_batch, first_epoch, metric_state,
                distribution)
            metric_state = None
            model.fit(
                schedule,
                validation_data=validation,
                initial_epoch=first_epoch,
                epochs=last_epoch,
                steps_per_epoch=phase_steps,
                callbacks=callbacks,
                verbose=verbose,
            )
            if early_stopping.triggered:
                stopped_early = True
                break

    if distribution.several_workers:
        barrier(distribution.strategy)  # every worker has trained its last step
    state = "early_stopped" if stopped_early else "completed"
    folder.write_status(state, optimizer_steps=int(model.optimizer.iterations.numpy()))
    folder.remove_backup()
    return {"state": state, "optimizer_steps": int(model.optimizer.iterations.numpy())}
