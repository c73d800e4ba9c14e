"""Run folders as the authors laid them out, plus what resuming needs.

``RUNS/NAME/DS/INDEX/<YYYY-mm-dd-HH-MM-SS>/`` holds ``hyperparams.json``, ``args.json``,
``results.csv``, ``best_model_XX.keras`` (the encoder after epoch XX, every epoch kept),
``logs/`` (TensorBoard), ``status.json`` (running / completed / early_stopped) and, while the
run is unfinished, ``backup/`` (weights + optimizer state + position in the schedule).
Files are written atomically (temporary name, then rename) and never overwritten.

One run folder, one process: the process training in a folder holds an exclusive lock on its
``.lock`` file (:class:`RunLock`, ``flock``) from the moment the folder is created or picked
for a resume until the run ends. A second process started with the same command skips a
folder whose lock is held and starts a new run; ``--resume`` of a held folder is refused. The
operating system drops the lock of a killed process, so a stale ``.lock`` never blocks.
"""

import fcntl
import os
import socket

from syrac.common.errors import SyracError
from syrac.common.files import read_json, timestamp, write_json_atomic

UNFINISHED = "running"
FINISHED = ("completed", "early_stopped")
# Arguments that do not change what a run computes; ignored when matching a run to resume.
_NOT_IDENTITY = {"resume", "new_run", "seed", "seed_given", "run_eagerly"}


def run_root(experiment_dir, experiment_name, dataset, index):
    """``RUNS/NAME/DS/INDEX`` (the folder holding one timestamped folder per run)."""
    return os.path.join(experiment_dir, experiment_name, dataset, str(index))


LOCK_NAME = ".lock"


class RunLock:
    """The exclusive claim of one process on one run folder.

    Use :meth:`acquire` (non-blocking) or the ``claim_*`` functions below; release with
    :meth:`release` or by leaving a ``with`` block. The lock file names its holder (pid and
    host) so that a refusal can say who holds it.
    """

    def __init__(self, run_dir):
        self.run_dir = run_dir
        self.path = os.path.join(run_dir, LOCK_NAME)
        self._handle = None

    def acquire(self):
        """Take the lock if no live process holds it; return whether it was taken."""
        while True:
            handle = open(self.path, "a+", encoding="utf-8")
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                return False
            try:
                same_file = os.path.samestat(os.fstat(handle.fileno()), os.stat(self.path))
            except FileNotFoundError:
                same_file = False
            if same_file:
                break
            handle.close()  # the holder removed the file as we opened it: try the new one
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()} {socket.gethostname()}\n")
        handle.flush()
        self._handle = handle
        return True

    def holder(self):
        """``"process PID on HOST"`` as the lock file records it, or ``"another process"``."""
        try:
            with open(self.path, encoding="utf-8") as handle:
                pid, _, host = handle.read().strip().partition(" ")
        except OSError:
            return "another process"
        return f"process {pid} on {host}" if pid else "another process"

    def release(self):
        """Remove the lock file and drop the lock (the file goes first, while still held)."""
        if self._handle is None:
            return
        try:
            os.remove(self.path)
        except FileNotFoundError:
            pass
        self._handle.close()
        self._handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.release()


def create_run_dir(root):
    """Create a new timestamped run folder under ``root`` and lock it; never reuse one.

    Returns:
        the :class:`RunLock` of the new folder (its ``run_dir`` is the folder).
    """
    os.makedirs(root, exist_ok=True)
    name = timestamp()
    candidate, suffix = os.path.join(root, name), 1
    while True:
        try:
            os.makedirs(candidate)
            break
        except FileExistsError:
            candidate = os.path.join(root, f"{name}-{suffix}")
            suffix += 1
    lock = RunLock(candidate)
    if not lock.acquire():  # only a process that found the folder within this instant
        raise SyracError(f"{candidate}: taken by {lock.holder()} as it was created")
    return lock


def run_identity(args):
    """The parts of ``args`` that decide what a run computes (used to match a run to resume)."""
    identity = {k: v for k, v in args.items() if k not in _NOT_IDENTITY}
    if args.get("seed_given"):
        identity["seed"] = args.get("seed")
    return identity


def read_status(run_dir):
    return read_json(os.path.join(run_dir, "status.json"), default={}) or {}


def write_status(run_dir, state, **details):
    status = read_status(run_dir)
    status.update(details)
    status.update({"state": state, "updated": timestamp()})
    write_json_atomic(os.path.join(run_dir, "status.json"), status)


def find_interrupted_run(root, args, params=None):
    """Return the newest unfinished run under ``root`` started with the same arguments, or None.

    With ``params``, the run's ``hyperparams.json`` must also equal them: a parameter file edited
    since the run was interrupted starts a new run rather than resume the old one with new values.
    """
    return next(_interrupted_runs(root, args, params), None)


def claim_interrupted_run(root, args, params=None):
    """Lock and return (as a :class:`RunLock`) the newest matching unfinished run, or None.

    A matching run whose lock a live process holds is being trained right now: it is skipped
    with a note, so that the caller starts a new run instead of writing into it.
    """
    for run_dir in _interrupted_runs(root, args, params):
        lock = RunLock(run_dir)
        if lock.acquire():
            if read_status(run_dir).get("state") == UNFINISHED:
                return lock
            lock.release()  # it finished between the look and the lock
            continue
        print(f"{run_dir} is in use by {lock.holder()}; not resuming it.")
    return None


def _interrupted_runs(root, args, params):
    yield from matching_runs(root, args, params, states=(UNFINISHED,))


def matching_runs(root, args, params=None, states=(UNFINISHED,)):
    """Run folders under ``root``, newest first, in one of ``states``, started with the same
    arguments (and, with ``params``, the same hyper-parameters)."""
    if not os.path.isdir(root):
        return
    wanted = run_identity(args)
    for name in sorted(os.listdir(root), reverse=True):
        run_dir = os.path.join(root, name)
        if not os.path.isdir(run_dir):
            continue
        if read_status(run_dir).get("state") not in states:
            continue
        recorded = read_json(os.path.join(run_dir, "args.json"), default=None)
        if recorded is None or run_identity(recorded) != wanted:
            continue
        if params is not None and read_json(
                os.path.join(run_dir, "hyperparams.json"), default=None) != params:
            continue
        yield run_dir


def check_resumable(run_dir):
    """Validate a ``--resume RUN_DIR`` folder and return its recorded args and hyper-parameters."""
    if not os.path.isdir(run_dir):
        raise SyracError(f"--resume {run_dir}: no such run folder")
    for name in ("args.json", "hyperparams.json"):
        if not os.path.isfile(os.path.join(run_dir, name)):
            raise SyracError(f"--resume {run_dir}: not a run folder (no {name})")
    state = read_status(run_dir).get("state")
    if state != UNFINISHED:
        raise SyracError(
            f"--resume {run_dir}: this run is {state or 'of unknown state'}, not interrupted; "
            "nothing to resume"
        )
    return (
        read_json(os.path.join(run_dir, "args.json")),
        read_json(os.path.join(run_dir, "hyperparams.json")),
    )


def claim_run_to_resume(run_dir):
    """Lock a ``--resume RUN_DIR`` folder; refuse in one line if a live process holds it."""
    lock = RunLock(run_dir)
    if not lock.acquire():
        raise SyracError(
            f"--resume {run_dir}: this run is being trained right now by {lock.holder()}; "
            "wait for it to end or stop it first"
        )
    try:
        check_resumable(run_dir)  # it may have ended between the first look and the lock
    except SyracError:
        lock.release()
        raise
    return lock


def checkpoint_path(run_dir, epoch):
    """``best_model_XX.keras`` for 1-based ``epoch``; a suffix is added rather than overwrite."""
    path = os.path.join(run_dir, f"best_model_{epoch:02d}.keras")
    suffix = 1
    while os.path.exists(path):
        path = os.path.join(run_dir, f"best_model_{epoch:02d}.redo{suffix}.keras")
        suffix += 1
    return path
