"""Reading and writing the project's files: one JSON reader, one atomic writer, one timestamp.

- :func:`read_json` reads every JSON file a command is given or finds (annotations, run
  records, probe descriptions, preset configs) with one wording for every failure.
- :func:`write_atomic` writes through a temporary file named after the process and a rename,
  so a killed process never leaves half a file under its final name and two processes never
  share a temporary file; ``exclusive=True`` creates the file only if it does not exist yet
  (of processes racing to create it, exactly one does).
- :func:`timestamp` is the ``YYYY-mm-dd-HH-MM-SS`` stamp of run folders and results files, and
  :func:`unique_path` the rule for never overwriting one: ``-1``, ``-2``... appended.
"""

import datetime
import glob
import json
import os

from syrac.common.errors import SyracError

TIMESTAMP_FORMAT = "%Y-%m-%d-%H-%M-%S"
_REQUIRED = object()


def cache_folder(*parts):
    """Where the project keeps what it can make again (the toy worlds): one place, whatever
    folder a command runs from. ``$XDG_CACHE_HOME/syrac`` when that variable is set, else
    ``~/.cache/syrac``; ``parts`` are joined below it."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(root, "syrac", *parts)


def timestamp(when=None):
    """``YYYY-mm-dd-HH-MM-SS`` of ``when`` (a POSIX time) or of now."""
    moment = datetime.datetime.fromtimestamp(when) if when is not None else datetime.datetime.now()
    return moment.strftime(TIMESTAMP_FORMAT)


def unique_path(path):
    """``path`` if nothing is there, else the first free ``path-1``, ``path-2``, ..."""
    candidate, suffix = path, 0
    while os.path.lexists(candidate):
        suffix += 1
        candidate = f"{path}-{suffix}"
    return candidate


def read_json(path, default=_REQUIRED):
    """Read the JSON file at ``path``; every failure is one :class:`SyracError` naming it.

    UTF-8 (with or without a byte-order mark), UTF-16 and UTF-32 are read alike.

    Args:
        path: the file.
        default: returned when the file does not exist; without it, a missing file is an error.
    """
    if os.path.isdir(path):
        raise SyracError(f"{path}: is a folder, not a file")
    if not os.path.isfile(path):
        if default is not _REQUIRED:
            return default
        raise SyracError(f"{path}: no such file")
    try:
        with open(path, "rb") as handle:
            return json.loads(handle.read())
    except json.JSONDecodeError as error:
        raise SyracError(
            f"{path}: malformed JSON at line {error.lineno}, column {error.colno}: {error.msg}"
        ) from None
    except UnicodeDecodeError:
        raise SyracError(f"{path}: not a UTF-8, UTF-16 or UTF-32 text file") from None
    except OSError as error:
        raise SyracError(f"{path}: cannot read: {error.strerror}") from None


def write_atomic(path, data, exclusive=False, durable=False):
    """Write ``data`` (bytes) to ``path`` through a temporary file and a rename.

    Args:
        exclusive: create ``path`` only if it does not exist; raise ``FileExistsError`` if it
            does (the check and the creation are one step: a hard link).
        durable: ``fsync`` the data before the rename (images of long jobs).
    """
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        if not exclusive:
            os.replace(temporary, path)
            return path
        try:
            os.link(temporary, path)
        except FileExistsError:
            raise
        except OSError:  # a file system without hard links
            if os.path.exists(path):
                raise FileExistsError(path) from None
            os.replace(temporary, path)
        return path
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def remove_stale_temporaries(path):
    """Delete the temporary files of :func:`write_atomic` for ``path`` that a killed process
    left (``path.PID.tmp`` where no process PID runs on this machine); return their names."""
    removed = []
    for leftover in glob.glob(glob.escape(path) + ".*.tmp"):
        pid = leftover[len(path) + 1:-len(".tmp")]
        if pid.isdigit() and not _alive(int(pid)):
            try:
                os.remove(leftover)
                removed.append(leftover)
            except FileNotFoundError:
                pass
    return removed


def _alive(pid):
    if pid == os.getpid():
        return False  # this process has no write in flight while it tidies
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def json_bytes(document, indent=2, sort_keys=True, allow_nan=True):
    """``document`` as the UTF-8 JSON text this project writes (a final newline included)."""
    text = json.dumps(document, indent=indent, sort_keys=sort_keys, allow_nan=allow_nan)
    return (text + "\n").encode("utf-8")


def write_json_atomic(path, document, **options):
    """Write ``document`` as JSON to ``path`` atomically (see :func:`json_bytes` for options)."""
    return write_atomic(path, json_bytes(document, **options))


def write_new_json(path, document, **options):
    """Write a JSON file that must not exist yet: records are never overwritten."""
    try:
        return write_atomic(path, json_bytes(document, **options), exclusive=True)
    except FileExistsError:
        raise SyracError(f"{path} already exists; refusing to overwrite it") from None
