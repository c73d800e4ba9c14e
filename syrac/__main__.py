"""The project's commands beyond the two wrappers: ``python -m syrac COMMAND [options]``.

Each command lives in its own module, imported only when it is asked for, so that
``python -m syrac prepare`` never pays for importing TensorFlow. A command module provides:

- ``parser(prog)``: its :class:`argparse.ArgumentParser`;
- ``run(args)``: does the work, raising :class:`syrac.common.errors.SyracError` for anything the user can fix.

``train`` and ``finetune`` are the two authors' wrappers (``train_wrapper.py``,
``finetune_wrapper.py``, installed as modules beside the package together with
``experiments/``): the same options and experiment names, the parameter sets shipped in the
package as the default ``--params_dir``. They are looked up by module name, like the commands
above; the library below this entry point never imports them.
"""

import argparse
import importlib
import os
import sys
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
warnings.filterwarnings("ignore", message=".*`shuffle=True` was passed.*")

from syrac.common.config import PACKAGED_CONFIG_DIR  # noqa: E402
from syrac.common.errors import reported_errors  # noqa: E402
from syrac.common.output_folders import output_folders  # noqa: E402

WRAPPERS = {
    "train": ("train_wrapper", "pre-train the ranking encoder (train_wrapper.py's options)"),
    "finetune": ("finetune_wrapper", "fit and evaluate the count probe (finetune_wrapper.py's "
                                     "options)"),
}

COMMANDS = {
    "demo": ("syrac.demo.command", "run the whole method on a generated toy crowd world"),
    "prepare": ("syrac.prepare.command", "turn a raw benchmark download into annotations.json"),
    "synth": ("syrac.synth.command", "generate synthetic datasets with a diffusion model"),
    "table": ("syrac.table.command", "a results table from a recipe: pre-train, probe, evaluate"),
    "count": ("syrac.count.command", "count people in any images with a trained model"),
    "export": ("syrac.count.export", "write one Keras (or TF Serving) model that counts"),
}


def top_level_parser():
    """``python -m syrac COMMAND ...``: the command name, everything else goes to the command."""
    parser = argparse.ArgumentParser(
        prog=_invoked_as(),
        description="SYRAC commands. Pre-training and the count step are train_wrapper.py and "
                    "finetune_wrapper.py.",
        epilog="commands:\n" + "\n".join(f"  {name:<9} {about}" for name, (_, about)
                                          in {**WRAPPERS, **COMMANDS}.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", choices=sorted({**WRAPPERS, **COMMANDS}), metavar="COMMAND",
                        help="one of: " + ", ".join({**WRAPPERS, **COMMANDS}))
    parser.add_argument("arguments", nargs=argparse.REMAINDER, help="options of the command")
    return parser


def _invoked_as():
    """``syrac`` when run as the installed console command, else ``python -m syrac``."""
    return "syrac" if os.path.basename(sys.argv[0]) == "syrac" else "python -m syrac"


def main(argv=None):
    top = top_level_parser().parse_args(argv)
    program = f"{_invoked_as()} {top.command}"
    if top.command in WRAPPERS:
        wrapper = importlib.import_module(WRAPPERS[top.command][0])
        wrapper.main(top.arguments, prog=program, params_dir=PACKAGED_CONFIG_DIR)
        return 0
    module = importlib.import_module(COMMANDS[top.command][0])
    parser = module.parser(program)
    args = parser.parse_args(top.arguments)
    with reported_errors(program), output_folders(parser, args):
        module.run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
