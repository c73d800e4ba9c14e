"""One pre-training run from the command's options: check, pick or create its folder, train.

``train_wrapper.py --experiment training/baseline`` and the demo both come here. The options are
those of :func:`syrac.cli.training_parser`. A run folder is picked and locked (see
:mod:`syrac.rank.run_folder`): the interrupted run of the same command and parameters when there
is one (or ``--resume RUN_DIR``), else a new timestamped folder with ``hyperparams.json`` and
``args.json``; then :func:`syrac.rank.training.pretrain` trains in it.
"""

import os
import random

from syrac.common.annotations import load_ranking_set
from syrac.common.config import find_params_file, load_params, parse_overrides, validate
from syrac.common.errors import SyracError
from syrac.common.files import read_json
from syrac.rank.run_folder import (
    FINISHED,
    check_resumable,
    claim_interrupted_run,
    claim_run_to_resume,
    create_run_dir,
    matching_runs,
    read_status,
    run_root,
)
from syrac.rank.resume import tidy_finished_run

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


def prepare_run(args, default_params="baseline"):
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
        args.params_dir, args.params or default_params, parse_overrides(args.set)
    )
    splits = load_ranking_set(args.data_dir, args.dataset, args.filter_classes)
    recorded = _recorded_args(args)
    recorded["params_file"] = params_path
    root = run_root(args.experiment_dir, args.experiment_name, args.dataset, args.index)
    interrupted = None if args.new_run else claim_interrupted_run(root, recorded, params)
    if interrupted:
        previous = read_json(os.path.join(interrupted.run_dir, "args.json"))
        return interrupted, previous, params, splits
    lock = create_run_dir(root, {"hyperparams.json": params, "args.json": recorded})
    return lock, recorded, params, splits


def pretraining_options(**values):
    """The options of ``train_wrapper.py`` as a namespace: every default, then ``values``."""
    from syrac.cli import options_from_defaults, training_parser

    return options_from_defaults(training_parser(), **values)


def finished_run(args, default_params="baseline"):
    """The newest finished run of the same command and parameters, or ``None``.

    What a caller that wants "this pre-training, done once" reuses (the results table), where
    the same command run again would start a new run.
    """
    _require(args)
    params, _ = load_params(args.params_dir, args.params or default_params,
                            parse_overrides(args.set))
    recorded = dict(vars(args), seed_given=args.seed is not None)
    root = run_root(args.experiment_dir, args.experiment_name, args.dataset, args.index)
    recorded["params_file"] = find_params_file(args.params_dir, args.params or default_params)
    return next(matching_runs(root, recorded, params, states=FINISHED), None)


def run_pretraining(args, default_params="baseline"):
    """Pre-train (or resume) one run and print where it went and how it ended.

    Returns:
        the run folder.
    """
    if args.resume and read_status(args.resume).get("state") in FINISHED:
        state = tidy_finished_run(args.resume)
        print(f"{args.resume} has already {state.replace('_', ' ')}; nothing to resume.")
        return args.resume
    lock, recorded, params, splits = prepare_run(args, default_params)
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
