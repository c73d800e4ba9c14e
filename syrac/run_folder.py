"""Run folders as the authors laid them out, plus what resuming needs.

``RUNS/NAME/DS/INDEX/<YYYY-mm-dd-HH-MM-SS>/`` holds ``hyperparams.json``, ``args.json``,
``results.csv``, ``best_model_XX.keras`` (the encoder after epoch XX, every epoch kept),
``logs/`` (TensorBoard), ``status.json`` (running / completed / early_stopped) and, while the
run is unfinished, ``backup/`` (weights + optimizer state + position in the schedule).
Files are written atomically (temporary name, then rename) and never overwritten.
"""

import datetime
import json
import os

from syrac.errors import SyracError

TIMESTAMP_FORMAT = "%Y-%m-%d-%H-%M-%S"
UNFINISHED = "running"
# Arguments that do not change what a run computes; ignored when matching a run to resume.
_NOT_IDENTITY = {"resume", "new_run", "seed", "seed_given", "run_eagerly"}


def timestamp():
    return datetime.datetime.now().strftime(TIMESTAMP_FORMAT)


def write_json_atomic(path, document):
    """Write ``document`` as JSON to ``path`` through a temporary file and a rename."""
    temporary = f"{path}.{os.getpid()}.tmp"  # two processes never share a temporary file
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2, sort_keys=True)
    os.replace(temporary, path)


def write_new_json(path, document):
    """Write a JSON file that must not exist yet (records are never overwritten)."""
    if os.path.exists(path):
        raise SyracError(f"{path} already exists; refusing to overwrite it")
    write_json_atomic(path, document)


def read_json(path, default=None):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return default
    except (OSError, json.JSONDecodeError) as error:
        raise SyracError(f"{path}: unreadable run record ({error})") from None


def run_root(experiment_dir, experiment_name, dataset, index):
    """``RUNS/NAME/DS/INDEX`` (the folder holding one timestamped folder per run)."""
    return os.path.join(experiment_dir, experiment_name, dataset, str(index))


def create_run_dir(root):
    """Create a new timestamped run folder under ``root``; never reuse an existing one."""
    os.makedirs(root, exist_ok=True)
    name = timestamp()
    candidate, suffix = os.path.join(root, name), 1
    while True:
        try:
            os.makedirs(candidate)
            return candidate
        except FileExistsError:
            candidate = os.path.join(root, f"{name}-{suffix}")
            suffix += 1


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
    if not os.path.isdir(root):
        return None
    wanted = run_identity(args)
    for name in sorted(os.listdir(root), reverse=True):
        run_dir = os.path.join(root, name)
        if not os.path.isdir(run_dir):
            continue
        if read_status(run_dir).get("state") != UNFINISHED:
            continue
        recorded = read_json(os.path.join(run_dir, "args.json"), default=None)
        if recorded is None or run_identity(recorded) != wanted:
            continue
        if params is not None and read_json(
                os.path.join(run_dir, "hyperparams.json"), default=None) != params:
            continue
        return run_dir
    return None


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


def checkpoint_path(run_dir, epoch):
    """``best_model_XX.keras`` for 1-based ``epoch``; a suffix is added rather than overwrite."""
    path = os.path.join(run_dir, f"best_model_{epoch:02d}.keras")
    suffix = 1
    while os.path.exists(path):
        path = os.path.join(run_dir, f"best_model_{epoch:02d}.redo{suffix}.keras")
        suffix += 1
    return path
