"""What an encoder checkpoint path holds, told without loading it (no TensorFlow needed).

The Count step checks its ``--model_path`` here before anything heavy is imported, and
:func:`syrac.count.encoder_loading.load_encoder` relies on the same answer, so a path is judged
one way with one set of messages.
"""

import os

from syrac.common.errors import SyracError, listed

SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")


def _describe_folder(path, limit=6):
    entries = sorted(os.listdir(path))
    if not entries:
        return "is empty"
    return f"holds {listed(entries, limit)}"


def checkpoint_kind(path):
    """``"keras"`` for a ``.keras`` file, ``"saved_model"`` for a TF SavedModel folder.

    Raises:
        SyracError: naming what is at ``path`` instead (nothing, another kind of folder or
            file), with a hint at the folder's checkpoints where that helps.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        if any(os.path.isfile(os.path.join(path, name)) for name in SAVED_MODEL_FILES):
            return "saved_model"
        checkpoints = sorted(n for n in os.listdir(path) if n.endswith(".keras"))
        hint = (f"; did you mean one of its checkpoints, e.g. "
                f"{os.path.join(path, checkpoints[-1])}?" if checkpoints else "")
        raise SyracError(f"{path}: a folder but not a TF SavedModel (no saved_model.pb); "
                         f"it {_describe_folder(path)}{hint}")
    if not os.path.exists(path):
        parent = os.path.dirname(os.path.abspath(path))
        where = (f"; {parent} {_describe_folder(parent)}" if os.path.isdir(parent)
                 else f"; the folder {parent} does not exist either")
        raise SyracError(f"{path}: no such file or folder{where}")
    if path.endswith(".keras"):
        return "keras"
    if path.endswith(".h5") or path.endswith(".hdf5"):
        raise SyracError(
            f"{path}: an HDF5 (.h5) file, which holds weights or a legacy Keras 2 model; "
            "expected an encoder saved as a .keras file or a TF SavedModel folder")
    raise SyracError(f"{path}: a file that is neither a .keras model nor a TF SavedModel folder "
                     f"({os.path.getsize(path)} bytes)")
