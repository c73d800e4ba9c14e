"""Hyper-parameter files: loading, command-line overrides and validation.

A parameter set is found by name in a ``--params_dir``: ``<name>.yaml`` (ours) or
``<name>.params.json`` (the authors' format, same keys). Every key is checked against
:data:`SCHEMA`; unknown keys and values of the wrong type are refused by name.

The paper's hyper-parameters are written once, in ``config/baseline.yaml``: every parameter set
must give them (:data:`PAPER_KEYS`). The settings this reproduction adds (preprocessing mode,
batch sizes of the probe and the evaluation, backup cadence, ...) have their defaults here.
"""

import json
import math
import os

import yaml

from syrac.common.errors import SyracError
from syrac.common.keras_names import INITIALIZERS, LOSSES
from syrac.common.numbers import as_integer, as_number, load_yaml

# The parameter sets ship inside the package (config/ at the repository root links here), so
# the installed commands find them from any folder.
PACKAGED_CONFIG_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                   "config")
MODEL_NAMES = ("resnet50", "vgg16", "tiny_cnn")  # tiny_cnn: tests and smoke runs only
PREPROCESSING_MODES = ("resnet_v2", "caffe")
OPTIMIZERS = ("adam",)
CONTRAST_DRAWS = ("per_call", "per_image")
JIT_COMPILE = ("auto", True, False)
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")  # syrac.rank.precision applies them


def _positive_int(value):
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _non_negative_int(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _positive_int_or_auto(value):
    return value == "auto" or _positive_int(value)


def _positive_number(value):
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


def _non_negative_number(value):
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= 0
    )


def _input_shape(value):
    return (
        isinstance(value, (list, tuple))
        and len(value) == 3
        and all(_positive_int(v) for v in value)
        and value[2] == 3
        and value[0] >= 32
        and value[1] >= 32
    )


def _weights(value):
    return value is None or (isinstance(value, str) and value != "")


def _loss(value):
    if isinstance(value, str):
        return value in LOSSES
    return isinstance(value, dict) and value.get("class_name") in LOSSES \
        and isinstance(value.get("config", {}), dict)


def _one_of(choices):
    def check(value):
        return value in choices

    return check


PAPER = object()  # the default of a key every parameter set must give (the paper's values)

# key -> (check, description used in error messages, default)
SCHEMA = {
    "input_shape": (
        _input_shape,
        "[height, width, 3] with height and width >= 32 (ResNet50's minimum)",
        PAPER,
    ),
    "batch_size": (_positive_int, "a positive integer (pairs per batch)", PAPER),
    "epochs": (_positive_int, "a positive integer", PAPER),
    "model_name": (_one_of(MODEL_NAMES), f"one of {list(MODEL_NAMES)}", PAPER),
    "weights": (
        _weights,
        "'imagenet', null, or a path to a local .h5 weights file",
        PAPER,
    ),
    "initializations": (
        _one_of(INITIALIZERS),
        f"an initializer Keras knows, one of {list(INITIALIZERS)}",
        PAPER,
    ),
    "optimizer": (_one_of(OPTIMIZERS), f"one of {list(OPTIMIZERS)}", PAPER),
    "loss": (
        _loss,
        f"a loss Keras knows, by name or as {{class_name, config}}, the name one of "
        f"{list(LOSSES)}",
        PAPER,
    ),
    "augment": (
        _non_negative_number,
        "a number >= 0 (the augmentation factor f; 0 turns augmentation off)",
        PAPER,
    ),
    "contrast_draw": (
        _one_of(CONTRAST_DRAWS),
        f"one of {list(CONTRAST_DRAWS)} ('per_call': the authors' Keras 2 contrast, one "
        "factor per side of a batch; 'per_image': Keras 3's RandomContrast)",
        "per_call",
    ),
    "precision": (
        _one_of(PRECISIONS),
        f"one of {list(PRECISIONS)} (the encoder's compute precision in pre-training)",
        "float32",
    ),
    "jit_compile": (
        _one_of(JIT_COMPILE),
        "auto, true or false (XLA-compile the train step; auto: when a GPU is present)",
        "auto",
    ),
    "learning_rate": (_positive_number, "a positive number", PAPER),
    "num_neurons": (_positive_int, "a positive integer", PAPER),
    "num_layers": (_non_negative_int, "an integer >= 0", PAPER),
    "preprocessing": (
        _one_of(PREPROCESSING_MODES),
        f"one of {list(PREPROCESSING_MODES)}",
        "resnet_v2",
    ),
    "shuffle_buffer": (_positive_int, "a positive integer", 6000),
    "val_batch_size": (_positive_int, "a positive integer", 1),
    "backup_every_n_batches": (
        _positive_int,
        "a positive integer (batches between resumable backups)",
        100,
    ),
    "probe_batch_size": (
        _positive_int_or_auto,
        "auto or a positive integer (images encoded per forward pass; see "
        "syrac.count.batch_sizes)",
        "auto",
    ),
    "eval_batch_size": (
        _positive_int_or_auto,
        "auto or a positive integer (patches encoded per forward pass; see "
        "syrac.count.batch_sizes)",
        "auto",
    ),
}


_INTEGER_CHECKS = (_positive_int, _non_negative_int, _positive_int_or_auto)
_NUMBER_CHECKS = (_positive_number, _non_negative_number)


def _read_as_typed(check, value):
    """A number written as text or as a whole float becomes the number the key expects.

    ``learning_rate: "5e-5"`` (a JSON string, or YAML 1.1's reading of 5e-5) is 5e-05;
    ``epochs: 3.`` and ``shuffle_buffer: 1e3`` are the integers 3 and 1000. Anything else is
    returned unchanged for the key's check to refuse.
    """
    if check in _INTEGER_CHECKS:
        whole = as_integer(value)
        return value if whole is None else whole
    if check in _NUMBER_CHECKS:
        read = as_number(value)
        return value if read is None else read
    if check is _input_shape and isinstance(value, (list, tuple)):
        sides = [as_integer(side) for side in value]
        return value if None in sides else sides
    return value


PAPER_KEYS = tuple(key for key, spec in SCHEMA.items() if spec[2] is PAPER)


def defaults():
    """A fresh dict of the defaults of the settings this reproduction adds (not the paper's)."""
    return {key: json.loads(json.dumps(spec[2])) for key, spec in SCHEMA.items()
            if spec[2] is not PAPER}


def validate(params, source="parameters", complete=True):
    """Check every key and value of ``params``; return a normalised copy.

    With ``complete`` (a whole parameter set) the paper's keys must all be there and the others
    take their default; without it (``--set`` overrides) only the given keys are checked and
    returned. ``source`` names the file or option in messages.
    """
    if not isinstance(params, dict):
        raise SyracError(
            f"{source}: expected a mapping of hyper-parameters. "
            f"Received: {type(params).__name__}"
        )
    unknown = sorted(set(params) - set(SCHEMA))
    if unknown:
        raise SyracError(
            f"{source}: unknown hyper-parameter(s) {unknown}; known keys are "
            f"{sorted(SCHEMA)}"
        )
    missing = [key for key in PAPER_KEYS if key not in params] if complete else []
    if missing:
        raise SyracError(
            f"{source}: missing hyper-parameter(s) {missing}; a parameter set gives every one "
            "of the paper's (config/baseline.yaml lists them)"
        )
    resolved = defaults() if complete else {}
    for key, value in params.items():
        check, description, _ = SCHEMA[key]
        value = _read_as_typed(check, value)
        if not check(value):
            raise SyracError(
                f"{source}: '{key}' must be {description}. Received: {key}={value!r}"
            )
        resolved[key] = list(value) if key == "input_shape" else value
    return resolved


def _read_mapping(path):
    try:
        with open(path, "rb") as handle:
            # From bytes, both readers detect UTF-8 with or without a BOM, and UTF-16.
            if path.endswith(".json"):
                return json.loads(handle.read())
            return load_yaml(handle.read())
    except UnicodeDecodeError:
        raise SyracError(f"{path}: not a UTF-8 or UTF-16 text file") from None
    except json.JSONDecodeError as error:
        raise SyracError(
            f"{path}: malformed JSON at line {error.lineno}, column {error.colno}: "
            f"{error.msg}"
        ) from None
    except yaml.YAMLError as error:
        raise SyracError(f"{path}: malformed YAML: {error}") from None
    except OSError as error:
        raise SyracError(f"{path}: cannot read: {error.strerror}") from None


def find_params_file(params_dir, name):
    """Return the path of parameter set ``name`` inside ``params_dir``.

    A file path ending in .yaml/.yml/.json is also accepted as ``name``.
    """
    if name.endswith((".yaml", ".yml", ".json")) and os.path.isfile(name):
        return name
    if not os.path.isdir(params_dir):
        raise SyracError(f"--params_dir {params_dir}: no such directory")
    candidates = [
        os.path.join(params_dir, f"{name}{suffix}")
        for suffix in (".yaml", ".yml", ".params.json")
    ]
    found = [path for path in candidates if os.path.isfile(path)]
    if not found:
        available = sorted(
            entry.rsplit(".params.json", 1)[0].rsplit(".", 1)[0]
            for entry in os.listdir(params_dir)
            if entry.endswith((".yaml", ".yml", ".params.json"))
        )
        raise SyracError(
            f"no parameter set '{name}' in {params_dir} (looked for "
            f"{', '.join(os.path.basename(p) for p in candidates)}); "
            f"available: {available}"
        )
    if len(found) > 1:
        raise SyracError(
            f"parameter set '{name}' is ambiguous: both {found[0]} and {found[1]} "
            "exist; remove one"
        )
    return found[0]


def parse_overrides(assignments, source="--set"):
    """Parse ``["epochs=1", "input_shape=[64,96,3]"]`` into a dict (values read as YAML);
    ``source`` names where they were written (the option, or a recipe's key) in errors."""
    overrides = {}
    for assignment in assignments or []:
        key, separator, text = assignment.partition("=")
        key = key.strip()
        if not separator or not key:
            raise SyracError(
                f"{source} expects key=value pairs. Received: {assignment!r}"
            )
        try:
            overrides[key] = load_yaml(text)
        except yaml.YAMLError:
            raise SyracError(
                f"{source} {key}: cannot read value {text!r}"
            ) from None
    return overrides


def load_params(params_dir, name="baseline", overrides=None, source="--set"):
    """Load parameter set ``name`` from ``params_dir``, apply ``--set`` overrides (written at
    ``source``, named in errors), validate.

    Returns:
        (params, path): the validated parameter dict and the file it came from.
    """
    path = find_params_file(params_dir, name)
    params = _read_mapping(path)
    params = validate(params, source=path)
    if overrides:
        validate(overrides, source=source, complete=False)
        params.update(overrides)
        params = validate(params, source=source)
    return params, path
