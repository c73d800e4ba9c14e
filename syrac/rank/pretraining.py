"""One pre-training run from the command's options: check, pick or create its folder, train.

``train_wrapper.py --experiment training/baseline`` and the demo both come here. The options are
those of :func:`syrac.cli.training_parser`. A run folder is picked and locked (see
:mod:`syrac.rank.run_folder`): the interrupted run of the same command and parameters when there
is one (or ``--resume RUN_DIR``), else a new timestamped folder with ``hyperparams.json`` and
``args.json``; then :func:`syrac.rank.training.pretrain` trains in it.

With ``--strategy multi_worker`` every worker runs the same command. The strategy comes first
(it must precede every TensorFlow op), then the chief picks the run folder as above and hands
its folder, seed, arguments and hyper-parameters to the other workers
(:func:`syrac.rank.multi_worker.share_from_chief`), which train in worker folders of their own.
"""

import os
import random
import shutil

from syrac.common.annotations import load_ranking_set
from syrac.common.config import find_params_file, load_params, parse_overrides, validate
from syrac.common.errors import SyracError
from syrac.common.files import read_json
from syrac.common.folder_lock import FolderLock
from syrac.rank import multi_worker
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
    if args.resume:  # a run resumes with the strategy it was started with
        args.strategy = (read_json(os.path.join(args.resume, "args.json"), default=None)
                         or {}).get("strategy", args.strategy)
    if args.strategy == "multi_worker":
        return _run_multi_worker(args, default_params)
    lock, recorded, params, splits = prepare_run(args, default_params)
    with lock:
        return _train(lock.run_dir, recorded, params, splits, args)


def _run_multi_worker(args, default_params):
    """One worker's part of a multi-worker run (see the module docstring)."""
    if not args.startup_timeout > 0:
        raise SyracError(f"--startup_timeout must be > 0 seconds. Received: {args.startup_timeout}")
    cluster = multi_worker.read_cluster()
    if not args.resume:
        _require(args)
    with multi_worker.lost_peers_reported(cluster):
        return _train_as_worker(args, default_params, cluster)


def _train_as_worker(args, default_params, cluster):
    with multi_worker.startup_deadline(args.startup_timeout, cluster):
        strategy = multi_worker.create_strategy()
        if cluster.is_chief:
            try:
                lock, recorded, params, splits = prepare_run(args, default_params)
            except SyracError as error:
                multi_worker.share_from_chief(strategy, cluster, {"error": str(error)})
                raise
            multi_worker.share_from_chief(strategy, cluster, {
                "run_dir": lock.run_dir, "args": recorded, "params": params})
        else:
            shared = multi_worker.share_from_chief(strategy, cluster)
            if "error" in shared:
                raise SyracError(f"the chief stopped: {shared['error']}")
            recorded, params = shared["args"], shared["params"]
            splits = load_ranking_set(recorded["data_dir"], recorded["dataset"],
                                      recorded.get("filter_classes", []))
            lock = _claim_worker_folder(shared["run_dir"], cluster)
    run_dir = lock.run_dir if cluster.is_chief else shared["run_dir"]
    with lock:
        _train(lock.run_dir, recorded, params, splits, args, strategy, cluster)
    if not cluster.is_chief:
        shutil.rmtree(lock.run_dir, ignore_errors=True)
    multi_worker.barrier(strategy)  # every worker is done with its folder
    if cluster.is_chief:
        for folder in multi_worker.worker_folders(run_dir):
            shutil.rmtree(folder, ignore_errors=True)  # a worker's own, left by a kill
    return run_dir


def _claim_worker_folder(run_dir, cluster):
    folder = multi_worker.worker_folder(run_dir, cluster.worker_id)
    os.makedirs(folder, exist_ok=True)
    lock = FolderLock(folder)
    if not lock.acquire():
        raise SyracError(
            f"worker {cluster.worker_id}'s folder {folder} is in use by {lock.holder()}: two "
            "processes were given the same TF_CONFIG task"
        )
    return lock


def _train(run_dir, recorded, params, splits, args, strategy=None, cluster=None):
    import keras

    from syrac.rank.training import pretrain

    if cluster is not None and not cluster.is_chief:
        print(f"Worker {cluster.worker_id} of {cluster.workers}; its own files: {run_dir}")
    else:
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
        strategy=strategy,
        cluster=cluster,
    )
    print(f"Run {status['state']} after {status['optimizer_steps']} steps: {run_dir}")
    return run_dir
