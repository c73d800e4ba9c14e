"""One pre-training run from a :class:`~syrac.rank.request.PretrainRequest`: check, pick or
create its folder, train.

``train_wrapper.py --experiment training/baseline``, the results table and the demo all come
here, each with the request it built. A run folder is picked and locked (see
:mod:`syrac.rank.run_folder`): the interrupted run of the same command and parameters when there
is one (or ``--resume RUN_DIR``), else a new timestamped folder with ``hyperparams.json`` and
``args.json``; then :func:`syrac.rank.training.pretrain` trains in it.

With ``--strategy multi_worker`` every worker runs the same command. The strategy comes first
(it must precede every TensorFlow op), then the chief picks the run folder as above and hands
its folder, seed, arguments and hyper-parameters to the other workers
(:func:`syrac.rank.multi_worker.share_from_chief`), which train in worker folders of their own.

TensorFlow is imported only once every check has passed (the modules that need it are imported
inside the functions that use them), so that a mistyped option or a missing file is reported in
a fraction of a second rather than after TensorFlow's import (about 4 CPU-seconds).
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


def _recorded_args(request):
    recorded = request.recorded()
    recorded["seed_given"] = request.seed is not None
    if request.seed is None:
        recorded["seed"] = random.SystemRandom().randrange(2**31)
    return recorded


def prepare_run(request, default_params="baseline"):
    """Validate everything, then pick (resume) or create the run folder and lock it.

    Returns:
        (lock, recorded args, params, splits): ``lock.run_dir`` is the run folder, held by this
        process until ``lock.release()``.
    """
    if request.resume:
        recorded, params = check_resumable(request.resume)
        params = validate(params, source=os.path.join(request.resume, "hyperparams.json"))
        splits = load_ranking_set(
            recorded["data_dir"], recorded["dataset"], recorded.get("filter_classes", [])
        )
        return claim_run_to_resume(request.resume), recorded, params, splits

    request.check()
    params, params_path = load_params(
        request.params_dir, request.params or default_params, parse_overrides(request.set)
    )
    splits = load_ranking_set(request.data_dir, request.dataset, request.filter_classes)
    recorded = _recorded_args(request)
    recorded["params_file"] = params_path
    root = run_root(request.experiment_dir, request.experiment_name, request.dataset,
                    request.index)
    interrupted = None if request.new_run else claim_interrupted_run(root, recorded, params)
    if interrupted:
        previous = read_json(os.path.join(interrupted.run_dir, "args.json"))
        return interrupted, previous, params, splits
    lock = create_run_dir(root, {"hyperparams.json": params, "args.json": recorded})
    return lock, recorded, params, splits


def finished_run(request, default_params="baseline"):
    """The newest finished run of the same request and parameters, or ``None``.

    What a caller that wants "this pre-training, done once" reuses (the results table), where
    the same command run again would start a new run.
    """
    request.check()
    params, _ = load_params(request.params_dir, request.params or default_params,
                            parse_overrides(request.set))
    recorded = dict(request.recorded(), seed_given=request.seed is not None)
    root = run_root(request.experiment_dir, request.experiment_name, request.dataset,
                    request.index)
    recorded["params_file"] = find_params_file(request.params_dir,
                                               request.params or default_params)
    return next(matching_runs(root, recorded, params, states=FINISHED), None)


def run_pretraining(request, default_params="baseline"):
    """Pre-train (or resume) the run ``request`` asks for; print where it went and how it ended.

    Args:
        request: a :class:`~syrac.rank.request.PretrainRequest` (left unchanged).
        default_params: the parameter set used when ``request.params`` is None.

    Returns:
        the run folder.
    """
    request.check()
    if request.resume and read_status(request.resume).get("state") in FINISHED:
        from syrac.rank.resume import tidy_finished_run

        state = tidy_finished_run(request.resume)
        print(f"{request.resume} has already {state.replace('_', ' ')}; nothing to resume.")
        return request.resume
    strategy = request.strategy
    if request.resume:  # a run resumes with the strategy it was started with
        strategy = (read_json(os.path.join(request.resume, "args.json"), default=None)
                    or {}).get("strategy", strategy)
    if strategy == "multi_worker":
        return _run_multi_worker(request, default_params)
    lock, recorded, params, splits = prepare_run(request, default_params)
    from syrac.rank.distribution import Distribution

    with lock:
        return _train(lock.run_dir, recorded, params, splits, request,
                      Distribution.named(strategy))


def _run_multi_worker(request, default_params):
    """One worker's part of a multi-worker run (see the module docstring)."""
    if not request.startup_timeout > 0:
        raise SyracError(
            f"--startup_timeout must be > 0 seconds. Received: {request.startup_timeout}")
    cluster = multi_worker.read_cluster()
    with multi_worker.lost_peers_reported(cluster):
        return _train_as_worker(request, default_params, cluster)


def _train_as_worker(request, default_params, cluster):
    with multi_worker.startup_deadline(request.startup_timeout, cluster):
        strategy = multi_worker.create_strategy()
        if cluster.is_chief:
            try:
                lock, recorded, params, splits = prepare_run(request, default_params)
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
    from syrac.rank.distribution import Distribution

    with lock:
        _train(lock.run_dir, recorded, params, splits, request, Distribution(strategy, cluster))
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


def _train(run_dir, recorded, params, splits, request, distribution):
    import keras

    from syrac.rank.training import pretrain

    cluster = distribution.cluster
    if not distribution.is_chief:
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
        distribution=distribution,
        run_eagerly=request.run_eagerly,
    )
    print(f"Run {status['state']} after {status['optimizer_steps']} steps: {run_dir}")
    return run_dir
