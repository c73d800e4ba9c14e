"""Numbers as people type them: ``5e-5``, ``1E-4``, ``.5``, ``3.``, ``1_000``.

YAML 1.1, which PyYAML follows, reads ``5e-5`` and ``1E-4`` as strings (its floats need a dot
and a signed exponent), so a learning rate written the way papers print it was refused. Every
place that reads a number goes through this module instead:

- :func:`parse_number` turns text into an ``int`` or ``float`` with Python's own literal rules
  (underscores between digits allowed), or returns ``None``;
- :func:`integer` and :func:`number` are ``argparse`` types built on it (``--N 3.`` is 3, an
  integer option given ``2.5`` is refused as not an integer); :func:`seed` is the type of every
  seed option, and :func:`as_seed` reads a seed anywhere else (recipes, configurations);
  :func:`positive_integer` is the type of ``--N`` and every other count of things;
- :func:`load_yaml` reads YAML with every such literal resolved to a float or an int.
"""

import argparse
import math
import re

import yaml

# NumPy's and TensorFlow's generators take seeds in 0 .. 2**32 - 1; outside it they raise.
SEED_LIMIT = 2**32
SEED_RANGE = "an integer in 0 .. 2**32 - 1"

_DIGITS = r"[0-9](?:_?[0-9])*"
_FLOAT = re.compile(
    rf"^[-+]?(?:{_DIGITS}\.(?:{_DIGITS})?|\.{_DIGITS}|{_DIGITS})(?:[eE][-+]?{_DIGITS})?$"
)


def parse_number(text):
    """Return the int or float ``text`` spells, or ``None`` if it is not a number.

    Integers stay ``int`` (``"1_000"`` is 1000); anything with a dot or an exponent is a float.
    ``nan`` and ``inf`` are numbers too; callers that need finite values check for them.
    """
    if not isinstance(text, str):
        return None
    stripped = text.strip()
    if re.fullmatch(rf"[-+]?{_DIGITS}", stripped):
        return int(stripped.replace("_", ""))
    if _FLOAT.match(stripped) or stripped.lower().lstrip("+-") in ("nan", "inf", "infinity"):
        return float(stripped.replace("_", ""))
    return None


def as_integer(value):
    """``value`` (a number or its text) as an int when it is a whole number, else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = parse_number(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None


def as_number(value):
    """``value`` (a number or its text) as an int or float, else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    return parse_number(value)


def integer(text):
    """``argparse`` type: a whole number written any common way (``3``, ``3.``, ``1_000``, ``1e3``)."""
    value = as_integer(text)
    if value is None:
        raise ValueError(text)
    return value


def number(text):
    """``argparse`` type: a finite number written any common way (``5e-5``, ``.5``, ``3.``)."""
    value = as_number(text)
    if value is None or not math.isfinite(value):
        raise ValueError(text)
    return float(value)


def finite_number(value):
    """``value`` (a number or its text) as a finite int or float, else ``None`` (NaN and
    infinity are numbers to Python, never a count or a coordinate)."""
    value = as_number(value)
    return value if value is not None and math.isfinite(value) else None


def positive_integer(text):
    """``argparse`` type of a count of things (``--N``): a whole number >= 1. A zero is refused
    here, never taken for "not given"."""
    value = as_integer(text)
    if value is None or value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer. Received: {text!r}")
    return value


def as_seed(value):
    """``value`` (a number or its text) as a seed NumPy and TensorFlow accept, else ``None``."""
    value = as_integer(value)
    return value if value is not None and 0 <= value < SEED_LIMIT else None


def seed(text):
    """``argparse`` type of a seed: a whole number in 0 .. 2**32 - 1 (argparse names the
    option in its message)."""
    value = as_seed(text)
    if value is None:
        raise argparse.ArgumentTypeError(f"must be {SEED_RANGE}. Received: {text!r}")
    return value


class _NumberLoader(yaml.SafeLoader):
    """PyYAML's safe loader, with YAML 1.2's wider float syntax (``5e-5``, ``1E4``)."""


_NumberLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float", _FLOAT, list("-+0123456789.")
)


def load_yaml(text_or_stream):
    """``yaml.safe_load`` with numbers read as people type them."""
    return yaml.load(text_or_stream, Loader=_NumberLoader)  # noqa: S506 (a SafeLoader)
