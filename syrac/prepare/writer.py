"""Writing ``DATA/<name>/`` so that a failure leaves nothing half-written.

Everything (``annotations.json``, copied images, crops) is first written into a hidden staging
folder inside ``DATA`` (``DATA/.prepare-<name>-XXXX/<name>/``, same file system, so moving is a
rename). The staged ``annotations.json`` is validated with the loaders the wrappers use, and only
then moved into place: the whole folder in one rename when ``DATA/<name>`` does not exist yet,
otherwise the folders this command owns first and ``annotations.json`` last (``os.replace``). On
any error, Ctrl-C included, the staging folder is deleted and ``DATA/<name>`` is as before.

A SIGKILL leaves the staging folder behind: the next run removes it (:func:`remove_stale_stages`).
The same command run again after a kill that fell once the dataset was in place finds it
prepared with the same options and stops there (:func:`already_prepared`).

An existing ``DATA/<name>/annotations.json`` is replaced only with ``--overwrite``. Sub-folders
(``images/``, ``crops/``) are replaced only if the earlier ``annotations.json`` records them as
written by this command (``meta.folders``); anything else in ``DATA/<name>`` (a raw download
unpacked there, say) is never touched.

``annotations.json`` is written one image (or pair) a line, ``meta`` first: the head points make
it long, and indenting every coordinate would make it ten times longer.
"""

import contextlib
import json
import os
import shutil
import tempfile

from syrac.common.annotations import annotations_path
from syrac.common.errors import SyracError
from syrac.common.files import read_json
from syrac.common.folder_lock import FolderLock

ANNOTATIONS = "annotations.json"


def _is_plain_name(name):
    return bool(name) and not name.startswith(".") and not any(
        separator in name for separator in ("/", "\\", os.sep)
    )


def check_name(name):
    """Refuse an ``--out`` that is not a plain folder name."""
    if not _is_plain_name(name):
        raise SyracError(
            f"--out must be a plain folder name inside --data_dir. Received: out={name!r}"
        )
    return name


def owned_folders(data_dir, name):
    """The sub-folders an earlier ``annotations.json`` of ``DATA/<name>`` says we wrote."""
    path = annotations_path(data_dir, name)
    if not os.path.isfile(path):
        return []
    try:
        document = read_json(path)
    except SyracError:
        return []
    meta = document.get("meta") if isinstance(document, dict) else None
    folders = meta.get("folders") if isinstance(meta, dict) else None
    if not isinstance(folders, list):
        return []
    # Only plain sub-folder names: a hand-edited entry must never point outside DATA/<name>.
    return [f for f in folders if isinstance(f, str) and _is_plain_name(f)]


def check_destination(data_dir, name, overwrite, folders=()):
    """Fail before any work if the dataset cannot be written where asked.

    Args:
        data_dir: ``--data_dir``; must exist.
        name: the dataset folder name.
        overwrite: whether an existing ``annotations.json`` may be replaced.
        folders: the sub-folders this run will write (``images`` for ``--copy``, ``crops``).
    """
    if not data_dir or not os.path.isdir(data_dir):
        raise SyracError(f"--data_dir {data_dir}: no such directory")
    check_name(name)
    final = os.path.join(data_dir, name)
    if os.path.exists(final) and not os.path.isdir(final):
        raise SyracError(f"{final} exists and is not a folder")
    if os.path.exists(annotations_path(data_dir, name)) and not overwrite:
        raise SyracError(
            f"{annotations_path(data_dir, name)} already exists; pass --overwrite to replace it "
            "(or choose another --out)"
        )
    ours = owned_folders(data_dir, name)
    for folder in folders:
        path = os.path.join(final, folder)
        if os.path.exists(path) and folder not in ours:
            raise SyracError(
                f"{path} exists and was not written by python -m syrac prepare; move it away "
                "or choose another --out"
            )


def format_annotations(document):
    """JSON text of ``document``: ``meta`` indented, every list one entry a line."""
    parts = []
    for key, value in document.items():
        if isinstance(value, list):
            lines = [
                "  " + json.dumps(entry, allow_nan=False, separators=(", ", ": "))
                for entry in value
            ]
            text = "[\n" + ",\n".join(lines) + "\n ]" if lines else "[]"
        else:
            text = json.dumps(value, indent=2, allow_nan=False).replace("\n", "\n ")
        parts.append(f" {json.dumps(key)}: {text}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


class Stage:
    """The staging folder of one dataset; see the module docstring.

    Attributes:
        folder: ``DATA/.prepare-<name>-XXXX/<name>``: write files here, at the paths they will
            have inside ``DATA/<name>``.
    """

    def __init__(self, data_dir, name, root):
        self.data_dir, self.name, self.root = data_dir, name, root
        self.folder = os.path.join(root, name)
        os.makedirs(self.folder)

    def path(self, *parts):
        """A path inside the staged dataset folder, its parent folders created."""
        path = os.path.join(self.folder, *parts)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        return path

    def commit(self, document, validate):
        """Write ``annotations.json``, validate it, move the dataset into ``DATA/<name>``.

        Args:
            document: the annotations; ``meta.folders`` is set to the sub-folders written.
            validate: ``validate(data_dir, dataset)`` loads the staged annotations as the
                wrappers would and raises :class:`SyracError` if they would be refused. Paths
                into the staged folders resolve under the staging root, the others (raw files
                referenced in place) under ``DATA``.
        """
        folders = sorted(
            entry for entry in os.listdir(self.folder)
            if os.path.isdir(os.path.join(self.folder, entry))
        )
        document.setdefault("meta", {})["folders"] = folders
        with open(os.path.join(self.folder, ANNOTATIONS), "w", encoding="utf-8") as handle:
            handle.write(format_annotations(document))
        if folders:
            validate(self.root, self.name)
        else:
            validate(self.data_dir, os.path.relpath(self.folder, self.data_dir))

        final = os.path.join(self.data_dir, self.name)
        if not os.path.exists(final):
            os.rename(self.folder, final)
            return final
        replaced = os.path.join(self.root, "replaced")
        os.makedirs(replaced)
        for folder in owned_folders(self.data_dir, self.name):
            if os.path.isdir(os.path.join(final, folder)):
                os.rename(os.path.join(final, folder), os.path.join(replaced, folder))
        for folder in folders:
            os.rename(os.path.join(self.folder, folder), os.path.join(final, folder))
        os.replace(os.path.join(self.folder, ANNOTATIONS), os.path.join(final, ANNOTATIONS))
        return final


def already_prepared(data_dir, name, options):
    """True when ``DATA/<name>/annotations.json`` was written by this command with these
    ``options`` (``meta.options``): running it again, e.g. after a kill that fell after the
    dataset was moved into place, has nothing left to do."""
    path = annotations_path(data_dir, name)
    if not os.path.isfile(path) or options.get("overwrite"):
        return False
    try:
        document = read_json(path)
    except SyracError:
        return False
    meta = document.get("meta") if isinstance(document, dict) else None
    recorded = meta.get("options") if isinstance(meta, dict) else None
    return recorded == json.loads(json.dumps(options))


def remove_stale_stages(data_dir, name):
    """Remove the staging folders of ``DATA/<name>`` that killed runs left (no live lock)."""
    for entry in os.listdir(data_dir):
        root = os.path.join(data_dir, entry)
        if entry.startswith(f".prepare-{name}-") and os.path.isdir(root):
            lock = FolderLock(root)
            if lock.acquire():
                shutil.rmtree(root, ignore_errors=True)
                lock.release()


@contextlib.contextmanager
def staged_dataset(data_dir, name, overwrite, folders=()):
    """Yield a :class:`Stage` for ``DATA/<name>``; the staging folder is always removed.

    The staging folder is locked while in use (:class:`~syrac.common.folder_lock.FolderLock`),
    so that a later run can remove the ones a SIGKILL left behind and only those.
    """
    check_destination(data_dir, name, overwrite, folders)
    remove_stale_stages(data_dir, name)
    root = tempfile.mkdtemp(prefix=f".prepare-{name}-", dir=data_dir)
    lock = FolderLock(root)
    lock.acquire()
    try:
        yield Stage(data_dir, name, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
        lock.release()
