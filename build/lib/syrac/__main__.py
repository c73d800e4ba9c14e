"""The project's commands beyond the two wrappers: ``python -m syrac COMMAND [options]``.

Each command lives in its own module, imported only when it is asked for, so that
``python -m syrac prepare`` never pays for importing TensorFlow. A command module provides:

- ``parser(prog)``: its :class:`argparse.ArgumentParser`;
- ``run(args)``: does the work, raising :class:`syrac.common.errors.SyracError` for anything the user can fix.
"""

import argparse
import importlib
import os
import sys
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
warnings.filterwarnings("ignore", message=".*`shuffle=True` was passed.*")

from syrac.common.errors import reported_errors  # noqa: E402
from syrac.common.output_folders import output_folders  # noqa: E402

COMMANDS = {
    "demo": ("syrac.demo.command", "run the whole method on a generated toy crowd world"),
    "prepare": ("syrac.prepare.command", "turn a raw benchmark download into annotations.json"),
    "synth": ("syrac.synth.command", "generate synthetic datasets with a diffusion model"),
    "table": ("syrac.table.command", "a results table from a recipe: pre-train, probe, evaluate"),
    "count": ("syrac.count.count_images", "count people in any images with a trained model"),
    "export": ("syrac.count.export", "write one Keras (or TF Serving) model that counts"),
}


def top_level_parser():
    """``python -m syrac COMMAND ...``: the command name, everything else goes to the command."""
    parser = argparse.ArgumentParser(
        prog=_invoked_as(),
        description="SYRAC commands. Pre-training and the count step are train_wrapper.py and "
                    "finetune_wrapper.py.",
        epilog="commands:\n" + "\n".join(f"  {name:<9} {about}" for name, (_, about) in COMMANDS.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", choices=sorted(COMMANDS), metavar="COMMAND",
                        help="one of: " + ", ".join(COMMANDS))
    parser.add_argument("arguments", nargs=argparse.REMAINDER, help="options of the command")
    return parser


def _invoked_as():
    """``syrac`` when run as the installed console command, else ``python -m syrac``."""
    return "syrac" if os.path.basename(sys.argv[0]) == "syrac" else "python -m syrac"


def main(argv=None):
    top = top_level_parser().parse_args(argv)
    module = importlib.import_module(COMMANDS[top.command][0])
    program = f"{_invoked_as()} {top.command}"
    parser = module.parser(program)
    args = parser.parse_args(top.arguments)
    with reported_errors(program), output_folders(parser, args):
        module.run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
