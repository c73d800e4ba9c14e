"""Output folders: every command creates the folders it writes to; only inputs must exist.

One rule for every entry point. A command's parser is a :class:`CommandParser` and declares an
option as an output folder with ``action=OutputFolder``; the parser records those options (and
its sub-commands) as they are added, and after parsing :func:`output_folders` creates each folder
(parents included) and checks that it can be written to, so that a read-only or misplaced
folder is reported in one line before any work starts, not after an hour of training. If the
command then fails, the folders it created and left empty are removed again: a refused command
leaves the file system as it found it.
"""

import argparse
import contextlib
import os
import tempfile

from syrac.common.errors import SyracError


class OutputFolder(argparse.Action):
    """``argparse`` action marking an option as a folder the command writes into.

    It stores the value like the default ``store`` action; a :class:`CommandParser` records
    the options that use it, for :func:`create_output_folders`.
    """

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, values)


class CommandParser(argparse.ArgumentParser):
    """The parser of every ``syrac`` command: an ``ArgumentParser`` that remembers, as options
    are added, which are output folders and which sub-commands it has.

    Attributes:
        output_options: the ``OutputFolder`` actions added with :meth:`add_argument` (options
            added to an argument group are not seen: declare output folders on the parser).
        subcommands: the action :meth:`add_subparsers` returned (its ``dest`` and ``choices``,
            the sub-command parsers, which are ``CommandParser`` too), or ``None``.
    """

    def __init__(self, *args, **kwargs):
        self.output_options, self.subcommands = [], None  # before argparse adds --help
        super().__init__(*args, **kwargs)

    def add_argument(self, *args, **kwargs):
        action = super().add_argument(*args, **kwargs)
        if isinstance(action, OutputFolder):
            self.output_options.append(action)
        return action

    def add_subparsers(self, **kwargs):
        self.subcommands = super().add_subparsers(**kwargs)  # argparse refuses a second one
        return self.subcommands


def _missing_ancestors(path):
    """``path`` and its parents that do not exist yet, outermost first."""
    missing = []
    current = os.path.abspath(path)
    while not os.path.lexists(current):
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    return missing[::-1]


def make_output_folder(path, option="output folder"):
    """Create ``path`` (and its parents) if needed and check it is a writable folder.

    Args:
        path: the folder.
        option: how to name it in a message, e.g. ``"--data_dir"``.

    Returns:
        the folders created, outermost first (empty if ``path`` existed).

    Raises:
        SyracError: one line naming the option and the path when it cannot be used.
    """
    created = _missing_ancestors(path)
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
        remove_empty_folders(created)
        raise SyracError(f"{option} {path}: cannot write there ({error.strerror})") from None
    return created


def remove_empty_folders(created):
    """Remove the folders of ``created`` (outermost first) that are still empty, innermost first."""
    for folder in reversed(created):
        try:
            os.rmdir(folder)
        except OSError:
            return  # not empty (the command wrote something): keep it and its parents


def _output_options(parser, args):
    """The ``OutputFolder`` actions of ``parser`` and of the sub-command ``args`` chose."""
    if not isinstance(parser, CommandParser):
        raise TypeError(f"output folders are known to a CommandParser only, not to "
                        f"{type(parser).__name__}")
    yield from parser.output_options
    commands = parser.subcommands
    if commands is not None:
        chosen = getattr(args, commands.dest, None) if commands.dest else None
        for name, subparser in commands.choices.items():
            if chosen is None or name == chosen:
                yield from _output_options(subparser, args)


def create_output_folders(parser, args):
    """Create every output folder ``args`` names (see :class:`OutputFolder`).

    Returns:
        every folder created, outermost first within each option.
    """
    done, created = set(), []
    try:
        for action in _output_options(parser, args):
            path = getattr(args, action.dest, None)
            if not path or path in done:
                continue
            option = action.option_strings[0] if action.option_strings else action.dest
            created += make_output_folder(path, option)
            done.add(path)
    except SyracError:
        remove_empty_folders(created)
        raise
    return created


@contextlib.contextmanager
def output_folders(parser, args):
    """Create the output folders ``args`` names; remove those left empty if the body fails."""
    created = create_output_folders(parser, args)
    try:
        yield
    except BaseException:
        remove_empty_folders(created)
        raise
