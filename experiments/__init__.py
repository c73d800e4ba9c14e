"""SYRAC experiments, by name: ``training/baseline`` is the module ``experiments.training.baseline``.

Names are resolved inside this package only, never by executing a file path. An experiment
module provides ``run(args)`` and a docstring giving its command, runtime and the number to
expect; the two wrappers call :func:`resolve_experiment`. The library (``syrac``) never imports
this package: experiments call the library, not the other way round.
"""

import importlib
import pkgutil
import re

from syrac.common.errors import SyracError

_NAME = re.compile(r"^[a-z0-9_]+(/[a-z0-9_]+)*$")


def known_experiments(prefix=""):
    """Return every experiment name under the ``experiments`` package, e.g. ``training/baseline``."""
    names = []
    for module in pkgutil.walk_packages(__path__, "experiments."):
        if module.ispkg:
            continue
        name = module.name[len("experiments."):].replace(".", "/")
        if name.startswith(prefix):
            names.append(name)
    return sorted(names)


def resolve_experiment(name, prefix=""):
    """Import and return the experiment module called ``name`` (``a/b/c``).

    Args:
        name: the ``--experiment`` value; a trailing ``/`` or ``.py`` is tolerated.
        prefix: restrict to one family (``"training/"`` or ``"finetuning/"``).
    """
    cleaned = name.strip().strip("/").removesuffix(".py").removeprefix("experiments/")
    known = known_experiments(prefix)
    if not _NAME.match(cleaned) or cleaned not in known:
        raise SyracError(
            f"unknown experiment {name!r}; known experiments: {', '.join(known)}"
        )
    module = importlib.import_module("experiments." + cleaned.replace("/", "."))
    if not callable(getattr(module, "run", None)):
        raise SyracError(f"experiment {cleaned!r} defines no run(args) function")
    return module


def run_wrapper(parser, argv, program, prefix):
    """What ``train_wrapper.py`` and ``finetune_wrapper.py`` do: parse, resolve, run.

    Errors the user can fix become one line and exit status 2 (see
    :func:`syrac.common.errors.reported_errors`); output folders are created first.
    """
    from syrac.common.errors import reported_errors
    from syrac.common.output_folders import output_folders

    args = parser.parse_args(argv)
    with reported_errors(program), output_folders(parser, args):
        resolve_experiment(args.experiment, prefix=prefix).run(args)
