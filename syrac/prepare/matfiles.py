"""Reading the MATLAB ground truth of ShanghaiTech, UCF-QNRF, UCF_CC_50 and Mall.

``scipy.io.loadmat`` returns MATLAB cells and structs as nested numpy object and structured
arrays, each wrapped in 1x1 arrays (ShanghaiTech's ``image_info`` is a 1x1 cell holding a 1x1
struct, so ``loadmat(f)["image_info"][0][0][0][0]`` is the record of ``location`` and
``number``). The helpers here peel those wrappers and turn every failure into one message
naming the file.
"""

import numpy as np
import scipy.io

from syrac.common.errors import SyracError


def load_mat(path):
    """Read a ``.mat`` file into a dict of variables (MATLAB's own keys dropped)."""
    try:
        document = scipy.io.loadmat(path)
    # loadmat raises many unrelated types on a damaged file (ValueError, TypeError,
    # MatReadError, zlib and struct errors, NotImplementedError for v7.3 files, ...).
    except Exception as error:  # noqa: BLE001
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise SyracError(f"{path}: unreadable MATLAB file ({reason})") from None
    return {key: value for key, value in document.items() if not key.startswith("__")}


def variable(path, document, name):
    """Return the variable ``name`` of a loaded ``.mat`` file, or fail naming what is there."""
    if name not in document:
        raise SyracError(
            f"{path}: no '{name}' variable (found: {', '.join(sorted(document)) or 'none'})"
        )
    return document[name]


def unwrap(value):
    """Peel 1-element object arrays (MATLAB cells and 1x1 wrappers) off ``value``."""
    while isinstance(value, np.ndarray) and value.dtype == object and value.size == 1:
        value = value.flat[0]
    return value


def struct_field(path, value, name, what):
    """Return field ``name`` of the (possibly wrapped) MATLAB struct ``value``."""
    value = unwrap(value)
    if isinstance(value, np.ndarray) and value.dtype.names and value.size == 1:
        value = value.flat[0]
    names = getattr(getattr(value, "dtype", None), "names", None)
    if not names or name not in names:
        raise SyracError(
            f"{path}: {what} has no field '{name}' (fields: {', '.join(names or ()) or 'none'})"
        )
    return unwrap(value[name])


def point_array(path, value, what):
    """Return ``value`` as an ``(N, 2)`` float array of ``x, y`` points (empty allowed)."""
    value = unwrap(value)
    try:
        points = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise SyracError(f"{path}: {what} is not a numeric array") from None
    if points.size == 0:
        return np.zeros((0, 2))
    if points.ndim != 2 or points.shape[1] < 2:
        raise SyracError(
            f"{path}: {what} must be an N x 2 array of x, y points. "
            f"Received: shape {points.shape}"
        )
    points = points[:, :2]
    if not np.all(np.isfinite(points)):
        raise SyracError(f"{path}: {what} holds non-finite coordinates")
    return points


def scalar(path, value, what):
    """Return a MATLAB scalar as a float."""
    value = np.asarray(unwrap(value))
    if value.size != 1 or not np.issubdtype(value.dtype, np.number):
        raise SyracError(f"{path}: {what} must be a number. Received: {value!r}")
    if not np.isfinite(value.reshape(())):
        raise SyracError(f"{path}: {what} must be a finite number. Received: {value.reshape(())!r}")
    return float(value.reshape(()))


def shanghaitech_points(path):
    """``(points, number)`` of a ShanghaiTech ``GT_IMG_i.mat`` (``image_info`` cell/struct)."""
    info = variable(path, load_mat(path), "image_info")
    location = struct_field(path, info, "location", "image_info")
    points = point_array(path, location, "image_info.location")
    number = struct_field(path, info, "number", "image_info")
    return points, scalar(path, number, "image_info.number")


def ann_points(path):
    """The ``annPoints`` (N x 2, x, y) of a UCF-QNRF or UCF_CC_50 ``*_ann.mat``."""
    return point_array(path, variable(path, load_mat(path), "annPoints"), "annPoints")
