"""Pre-training of the paper (SYRAC "Rank"): siamese ResNet50 on real/people-removed pairs.

Command (the authors' README, unchanged)::

    python train_wrapper.py --experiment training/baseline --params_dir ./config/ \
        --dataset DS --data_dir DATA --experiment_dir RUNS --experiment_name NAME

Parameters: ``config/baseline.yaml`` (input 640x853, batch 3 pairs, 15 epochs, Adam 5e-5,
ImageNet ResNet50, augmentation factor 2), early stopping on ``val_loss`` with ``--patience 10``.

Runtime: dominated by ResNet50 at 640x853 on 2 x 3 images a step; on one modern GPU an epoch of
a few thousand pairs takes tens of minutes; on a CPU, hours (``benchmarks/pretraining_throughput.py``
prints this machine's pairs/s). With ``--params tiny`` (32x48, random init) a fixture of a few
pairs trains in well under a minute.

What to expect: train ``rank_accuracy`` climbing towards 1 and ``val_rank_accuracy`` high on
held-out pairs (removing people is an easy signal); the counting number comes from the probe
(``finetuning/unsupervised/noisy_synth_regress``), not from this step.
"""

import os
import random

from syrac.common.annotations import load_ranking_set
from syrac.common.config import load_params, parse_overrides, validate
from syrac.common.errors import SyracError
from syrac.rank.run_folder import (
    check_resumable,
    claim_interrupted_run,
    claim_run_to_resume,
    create_run_dir,
    read_json,
    run_root,
    write_new_json,
)

DEFAULT_PARAMS = "baseline"
REQUIRED = ("dataset", "data_dir", "experiment_name")


def _require(args):
    missing = [f"--{name}" for name in REQUIRED if not getattr(args, name)]
    if missing:
        raise SyracError(f"missing required option(s): {', '.join(missing)}")
    if args.index < 0:
        raise SyracError(f"--index must be >= 0. Received: {args.index}")
    if args.patience < 0:
        raise SyracError(f"--patience must be >= 0. Received: {args.patience}")


def _recorded_args(args):
    recorded = dict(vars(args))
    recorded["seed_given"] = args.seed is not None
    if args.seed is None:
        recorded["seed"] = random.SystemRandom().randrange(2**31)
    return recorded


def prepare_run(args):
    """Validate everything, then pick (resume) or create the run folder and lock it.

    Returns:
        (lock, recorded args, params, splits): ``lock.run_dir`` is the run folder, held by this
        process until ``lock.release()``.
    """
    if args.resume:
        recorded, params = check_resumable(args.resume)
        params = validate(params, source=os.path.join(args.resume, "hyperparams.json"))
        splits = load_ranking_set(
            recorded["data_dir"], recorded["dataset"], recorded.get("filter_classes", [])
        )
        return claim_run_to_resume(args.resume), recorded, params, splits

    _require(args)
    params, params_path = load_params(
        args.params_dir, args.params or DEFAULT_PARAMS, parse_overrides(args.set)
    )
    splits = load_ranking_set(args.data_dir, args.dataset, args.filter_classes)
    recorded = _recorded_args(args)
    recorded["params_file"] = params_path
    root = run_root(args.experiment_dir, args.experiment_name, args.dataset, args.index)
    interrupted = None if args.new_run else claim_interrupted_run(root, recorded, params)
    if interrupted:
        previous = read_json(os.path.join(interrupted.run_dir, "args.json"))
        return interrupted, previous, params, splits
    lock = create_run_dir(root)
    write_new_json(os.path.join(lock.run_dir, "hyperparams.json"), params)
    write_new_json(os.path.join(lock.run_dir, "args.json"), recorded)
    return lock, recorded, params, splits


def run(args):
    """Pre-train (or resume) one run and print where it went and how it ended."""
    lock, recorded, params, splits = prepare_run(args)
    with lock:
        return _train(lock.run_dir, recorded, params, splits, args)


def _train(run_dir, recorded, params, splits, args):
    import keras

    from syrac.rank.training import pretrain

    print(f"Run folder: {run_dir}")
    print(
        f"{len(splits['train'])} training and {len(splits['val'])} validation pairs; "
        f"seed {recorded['seed']}"
    )
    keras.utils.set_random_seed(recorded["seed"])  # Python, NumPy and TensorFlow
    status = pretrain(
        splits,
        params,
        run_dir,
        seed=recorded["seed"],
        patience=recorded["patience"],
        strategy_name=args.strategy,
        run_eagerly=args.run_eagerly,
    )
    print(f"Run {status['state']} after {status['optimizer_steps']} steps: {run_dir}")
    return run_dir
