"""Run folders as the authors laid them out, plus what resuming needs.

``RUNS/NAME/DS/INDEX/<YYYY-mm-dd-HH-MM-SS>/`` holds ``hyperparams.json``, ``args.json``,
``results.csv``, ``best_model_XX.keras`` (the encoder after epoch XX, every epoch kept),
``logs/`` (TensorBoard), ``status.json`` (running / completed / early_stopped) and, while the
run is unfinished, ``backup/`` (weights + optimizer state + position in the schedule).
Files are written atomically (temporary name, then rename); a new folder appears whole, with
its records (:func:`create_run_dir`); a resumed run first takes the folder back to its last
backup (:func:`syrac.rank.resume.reconcile_run_folder`).

One run folder, one process: the process training in a folder holds an exclusive lock on its
``.lock`` file (:class:`RunLock`, ``flock``) from the moment the folder is created or picked
for a resume until the run ends. A second process started with the same command skips a
folder whose lock is held and starts a new run; ``--resume`` of a held folder is refused. The
operating system drops the lock of a killed process, so a stale ``.lock`` never blocks.
"""

import csv
import errno
import json
import math
import os
import re
import shutil

from syrac.common.errors import SyracError
from syrac.common.folder_lock import LOCK_NAME, FolderLock  # noqa: F401 (LOCK_NAME re-exported)
from syrac.common.files import read_json, timestamp, write_json_atomic
from syrac.common.numbers import SEED_RANGE, as_seed

RESULTS_FILE = "results.csv"
STATUS_FILE = "status.json"
BACKUP_FOLDER = "backup"
POSITION_FILE = "position.json"
LOGS_FOLDER = "logs"
CHECKPOINT_NAME = re.compile(r"best_model_(\d+)\.keras")
UNFINISHED = "running"
FINISHED = ("completed", "early_stopped")
# Arguments that do not change what a run computes; ignored when matching a run to resume.
_NOT_IDENTITY = {"resume", "new_run", "seed", "seed_given", "run_eagerly", "startup_timeout"}


def run_root(experiment_dir, experiment_name, dataset, index):
    """``RUNS/NAME/DS/INDEX`` (the folder holding one timestamped folder per run)."""
    return os.path.join(experiment_dir, experiment_name, dataset, str(index))


RunLock = FolderLock  # a run folder's lock: see syrac.common.folder_lock


STAGING_PREFIX = ".new-"


def _remove_stale_staging(root):
    """Remove folders a killed :func:`create_run_dir` left half made (no live lock on them)."""
    for name in os.listdir(root):
        if name.startswith(STAGING_PREFIX) and name.endswith(".tmp"):
            staging = os.path.join(root, name)
            lock = RunLock(staging)
            try:
                taken = lock.acquire()
            except OSError:
                continue
            if taken:
                shutil.rmtree(staging, ignore_errors=True)
                lock.release()


def create_run_dir(root, documents):
    """Create a new timestamped run folder under ``root`` holding ``documents`` and lock it.

    The folder is made whole under a hidden staging name (``.new-*.tmp``: the JSON
    ``documents``, e.g. ``hyperparams.json`` and ``args.json``, plus ``status.json`` saying
    running) and renamed into place, so a kill never leaves a run folder without its records.
    The lock taken on the staging folder stays held through the rename. Never reuses a folder.

    Returns:
        the :class:`RunLock` of the new folder (its ``run_dir`` is the folder).
    """
    os.makedirs(root, exist_ok=True)
    _remove_stale_staging(root)
    name = timestamp()
    staging = os.path.join(root, f"{STAGING_PREFIX}{name}-{os.getpid()}.tmp")
    os.makedirs(staging)
    lock = RunLock(staging)
    lock.acquire()
    for file_name, document in documents.items():
        write_json_atomic(os.path.join(staging, file_name), document)
    write_json_atomic(os.path.join(staging, STATUS_FILE),
                      {"state": UNFINISHED, "updated": timestamp()})
    candidate, suffix = os.path.join(root, name), 1
    while True:
        try:
            os.rename(staging, candidate)
            break
        except OSError as error:
            if error.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                lock.release()
                shutil.rmtree(staging, ignore_errors=True)
                raise
            candidate = os.path.join(root, f"{name}-{suffix}")
            suffix += 1
    lock.moved_to(candidate)
    return lock


def run_identity(args):
    """The parts of ``args`` that decide what a run computes (used to match a run to resume)."""
    identity = {k: v for k, v in args.items() if k not in _NOT_IDENTITY}
    if args.get("seed_given"):
        identity["seed"] = args.get("seed")
    return identity


def read_rows(results_csv):
    """``(fieldnames, rows)`` of a ``results.csv`` (rows as dicts), or ``([], [])``."""
    if not os.path.isfile(results_csv):
        return [], []
    with open(results_csv, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


class RunFolder:
    """One run folder's files, each named here and nowhere else.

    What the callbacks write, what a resume reads back and what the results table and the demo
    look up go through this object: the epoch checkpoints (``best_model_XX.keras``, 1-based
    XX), the rows of ``results.csv`` (CSVLogger's format, 0-based ``epoch``), ``status.json``,
    and the backup (``backup/position.json`` naming the weights file it commits).
    """

    def __init__(self, path):
        self.path = os.fspath(path)

    def __repr__(self):
        return f"RunFolder({self.path!r})"

    def file(self, *names):
        return os.path.join(self.path, *names)

    # The epochs: checkpoints and results.csv.
    @property
    def results_csv(self):
        return self.file(RESULTS_FILE)

    @property
    def logs_folder(self):
        return self.file(LOGS_FOLDER)

    def checkpoint(self, epoch):
        """``best_model_XX.keras`` for 1-based ``epoch``.

        An epoch's checkpoint is written once: a resumed run first removes the checkpoints of
        the epochs its backup had not committed (:func:`syrac.rank.resume.reconcile_run_folder`)
        and writes them again from the same weights.
        """
        return self.file(f"best_model_{epoch:02d}.keras")

    @staticmethod
    def checkpoint_epoch(name):
        """1-based epoch of a file named ``best_model_XX.keras``, or None for any other name."""
        match = CHECKPOINT_NAME.fullmatch(os.path.basename(name))
        return int(match.group(1)) if match else None

    def checkpoints(self):
        """``{epoch: path}`` of the finished epoch checkpoints, by epoch (1-based)."""
        if not os.path.isdir(self.path):
            return {}
        found = {self.checkpoint_epoch(name): self.file(name) for name in os.listdir(self.path)}
        return {epoch: found[epoch] for epoch in sorted(e for e in found if e is not None)}

    def last_checkpoint(self):
        """The encoder after the last epoch the run trained (early stopping may end it sooner)."""
        checkpoints = self.checkpoints()
        if not checkpoints:
            raise SyracError(f"{self.path}: the pre-training wrote no encoder checkpoint")
        return checkpoints[max(checkpoints)]

    def rows(self):
        """The rows of ``results.csv`` as dicts (none when it does not exist)."""
        return read_rows(self.results_csv)[1]

    def logged(self, monitor):
        """``{epoch: value}`` of one ``results.csv`` column (0-based epochs, finite values)."""
        values = {}
        for row in self.rows():
            try:
                epoch, value = int(row["epoch"]), float(row[monitor])
            except (KeyError, TypeError, ValueError):
                continue
            if math.isfinite(value):
                values[epoch] = value
        return values

    # status.json
    def status(self):
        """``status.json`` (``{}`` before the first write); refused by name when damaged."""
        status = read_json(self.file(STATUS_FILE), default={}) or {}
        if not isinstance(status, dict) or not isinstance(status.get("state", ""), str):
            raise SyracError(f"{self.file(STATUS_FILE)}: a run status is an object with a "
                             f"'state' string. Received: {_short_json(status)}")
        return status

    def write_status(self, state, **details):
        status = self.status()
        status.update(details)
        status.update({"state": state, "updated": timestamp()})
        write_json_atomic(self.file(STATUS_FILE), status)

    # The backup.
    @property
    def backup_folder(self):
        return self.file(BACKUP_FOLDER)

    def backup_file(self, name):
        return os.path.join(self.backup_folder, name)

    def backup_records(self):
        """The backups ``backup/position.json`` records whose weights exist, newest first: the
        last one and, when kept, the one before it (without its own ``"previous"``)."""
        position = read_json(self.backup_file(POSITION_FILE), default=None)
        records = []
        while position is not None:
            record = {key: value for key, value in position.items() if key != "previous"}
            if os.path.isfile(self.backup_file(record["weights"])):
                records.append(record)
            position = position.get("previous")
        return records

    def backup_position(self):
        """``{"epoch", "batch", "global_step", "weights", "state"}`` of the last backup, or None."""
        records = self.backup_records()
        return records[0] if records else None

    def commit_backup(self, record):
        """Make ``record`` the last backup (writing the position commits it)."""
        write_json_atomic(self.backup_file(POSITION_FILE), record)

    def remove_backup(self):
        """Delete the backup folder (a finished run needs none)."""
        shutil.rmtree(self.backup_folder, ignore_errors=True)


def read_status(run_dir):
    return RunFolder(run_dir).status()


def write_status(run_dir, state, **details):
    RunFolder(run_dir).write_status(state, **details)


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
        if name.startswith(".") or not os.path.isdir(run_dir):
            continue  # staging and worker folders are hidden
        if read_status(run_dir).get("state") not in states:
            continue
        recorded = read_json(os.path.join(run_dir, "args.json"), default=None)
        if recorded is None or run_identity(recorded) != wanted:
            continue
        if params is not None and read_json(
                os.path.join(run_dir, "hyperparams.json"), default=None) != params:
            continue
        yield run_dir


# What a resume reads from args.json, and the type each must have.
_RESUMED_ARGS = {"data_dir": str, "dataset": str, "seed": int, "patience": int}
_KIND_NAMES = {str: "a string", int: "an integer"}


def _short_json(value, limit=80):
    text = json.dumps(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_recorded_args(path, recorded):
    """Refuse an ``args.json`` a resume cannot use, naming the file and the key."""
    if not isinstance(recorded, dict):
        raise SyracError(f"{path}: the recorded arguments are a JSON object. Received: "
                         f"{_short_json(recorded)}")
    for key, kind in _RESUMED_ARGS.items():
        value = recorded.get(key)
        if key not in recorded:
            raise SyracError(f"{path}: missing the key '{key}'; this run cannot be resumed")
        if isinstance(value, bool) or not isinstance(value, kind) \
                or (key == "seed" and as_seed(value) is None):
            wanted = SEED_RANGE if key == "seed" else _KIND_NAMES[kind]
            raise SyracError(f"{path}: '{key}' must be {wanted}. Received: {_short_json(value)}")
    filters = recorded.get("filter_classes", [])
    if not isinstance(filters, list) or not all(isinstance(f, str) for f in filters):
        raise SyracError(f"{path}: 'filter_classes' must be a list of strings. Received: "
                         f"{_short_json(filters)}")
    return recorded


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
        )  # a finished run is answered before this check (syrac.rank.pretraining)
    args_path = os.path.join(run_dir, "args.json")
    return (
        check_recorded_args(args_path, read_json(args_path)),
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
