"""User-facing errors and the command-line guard that reports them.

Anything a researcher can fix (a missing file, a malformed annotation, a nonsense option) raises
:class:`SyracError`. The wrappers catch it and print one line instead of a traceback.
"""

import contextlib
import sys

MAX_LISTED = 5


def listed(names, limit=MAX_LISTED):
    """``a, b, c, d, e and 4 more``: the first few of ``names`` for a one-line message."""
    names = [str(name) for name in names]
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def first_line(error, limit=None, with_type=False):
    """The first line of an exception's message, for a one-line report.

    Args:
        error: the exception.
        limit: cut to this many characters (ending in ``...``), or None.
        with_type: put the exception's class name first (``OSError: ...``).
    """
    lines = str(error).strip().splitlines()
    if with_type:
        text = f"{type(error).__name__}: {lines[0] if lines else ''}"
    else:
        text = lines[0] if lines else type(error).__name__
    if limit is not None and len(text) > limit:
        text = text[: limit - 3] + "..."
    return text


class SyracError(Exception):
    """An error caused by the user's input, reported without a traceback (exit code 2).

    A subclass with another ``exit_code`` is a planned stop reported the same way (e.g.
    :class:`syrac.rank.preemption.Preempted`, 75).
    """

    exit_code = 2


@contextlib.contextmanager
def reported_errors(program):
    """Turn :class:`SyracError` and Ctrl-C into a one-line message and a non-zero exit.

    Args:
        program: name printed before the message, e.g. ``"train_wrapper.py"``.
    """
    try:
        yield
    except SyracError as error:
        code = getattr(error, "exit_code", 2)
        print(f"{program}: {'error: ' if code == 2 else ''}{error}", file=sys.stderr)
        sys.exit(code)
    except KeyboardInterrupt:
        print(
            f"{program}: interrupted; run the same command again to resume.",
            file=sys.stderr,
        )
        sys.exit(130)
