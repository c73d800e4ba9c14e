"""Output folders: every command creates the folders it writes to; only inputs must exist.

One rule for every entry point. A parser declares an option as an output folder with
``action=OutputFolder``; after parsing, :func:`create_output_folders` creates each such folder
(parents included) and checks that it can be written to, so that a read-only or misplaced
folder is reported in one line before any work starts, not after an hour of training.
"""

import argparse
import os
import tempfile

from syrac.errors import SyracError


class OutputFolder(argparse.Action):
    """``argparse`` action marking an option as a folder the command writes into.

    It stores the value like the default ``store`` action; :func:`create_output_folders`
    finds the options that use it.
    """

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, values)


def make_output_folder(path, option="output folder"):
    """Create ``path`` (and its parents) if needed and check it is a writable folder.

    Args:
        path: the folder.
        option: how to name it in a message, e.g. ``"--data_dir"``.

    Raises:
        SyracError: one line naming the option and the path when it cannot be used.
    """
    try:
        os.makedirs(path, exist_ok=True)
    except FileExistsError:
        raise SyracError(f"{option} {path}: exists and is not a folder") from None
    except NotADirectoryError:
        raise SyracError(
            f"{option} {path}: cannot be created, a part of the path is a file"
        ) from None
    except OSError as error:
        raise SyracError(f"{option} {path}: cannot be created ({error.strerror})") from None
    try:
        with tempfile.TemporaryFile(dir=path, prefix=".syrac-write-check-"):
            pass
    except OSError as error:
        raise SyracError(f"{option} {path}: cannot write there ({error.strerror})") from None
    return path


def _output_actions(parser, args):
    """The ``OutputFolder`` actions of ``parser`` and of the sub-command ``args`` chose."""
    for action in parser._actions:
        if isinstance(action, OutputFolder):
            yield action
        elif isinstance(action, argparse._SubParsersAction):
            chosen = getattr(args, action.dest, None) if action.dest else None
            for name, subparser in action.choices.items():
                if chosen is None or name == chosen:
                    yield from _output_actions(subparser, args)


def create_output_folders(parser, args):
    """Create every output folder ``args`` names (see :class:`OutputFolder`)."""
    done = set()
    for action in _output_actions(parser, args):
        path = getattr(args, action.dest, None)
        if not path or path in done:
            continue
        make_output_folder(path, action.option_strings[0] if action.option_strings else action.dest)
        done.add(path)
