"""Numbers as people type them, in --set, in parameter files and in command-line options."""

import argparse
import json

import pytest

from syrac.common.config import load_params, parse_overrides
from syrac.common.errors import SyracError
from syrac.common.numbers import integer, load_yaml, number, parse_number
from tests.conftest import REPO


@pytest.mark.parametrize("text, value", [
    ("5e-5", 5e-5), ("1E-4", 1e-4), (".5", 0.5), ("3.", 3.0), ("1_000", 1000), ("-2e3", -2000.0),
    ("+7", 7), ("1_000.5", 1000.5), (" 12 ", 12),
])
def test_numbers_as_typed(text, value):
    parsed = parse_number(text)
    assert parsed == value and type(parsed) is type(value)
    assert load_yaml(f"key: {text}")["key"] == value


@pytest.mark.parametrize("text", ["abc", "1e", "e5", "1__0", "_1", "1.2.3", "", "0x1F", "5 e-5"])
def test_text_that_is_not_a_number(text):
    assert parse_number(text) is None


def test_yaml_keeps_strings_and_its_other_types():
    document = load_yaml("a: abc\nb: true\nc: null\nd: [1, 2.5, 3e2]\ne: '5e-5'\n")
    assert document == {"a": "abc", "b": True, "c": None, "d": [1, 2.5, 300.0], "e": "5e-5"}


@pytest.mark.parametrize("assignment, key, value", [
    ("learning_rate=5e-5", "learning_rate", 5e-5),
    ("learning_rate=1E-4", "learning_rate", 1e-4),
    ("augment=.5", "augment", 0.5),
    ("epochs=3.", "epochs", 3),
    ("shuffle_buffer=1_000", "shuffle_buffer", 1000),
    ("shuffle_buffer=1e3", "shuffle_buffer", 1000),
    ("input_shape=[64., 96, 3]", "input_shape", [64, 96, 3]),
])
def test_set_accepts_numbers_as_typed(assignment, key, value):
    params, _ = load_params(str(REPO / "config"), "tiny", parse_overrides([assignment]))
    assert params[key] == value and type(params[key]) is type(value)


@pytest.mark.parametrize("assignment, message", [
    ("learning_rate=fast", r"--set: 'learning_rate' must be a positive number\. "
                           r"Received: learning_rate='fast'"),
    ("epochs=2.5", r"--set: 'epochs' must be a positive integer\. Received: epochs=2\.5"),
    ("learning_rate=-5e-5", r"'learning_rate' must be a positive number"),
    ("learning_rate=nan", r"'learning_rate' must be a positive number"),
])
def test_set_refuses_what_is_not_the_number_a_key_needs(assignment, message):
    with pytest.raises(SyracError, match=message):
        load_params(str(REPO / "config"), "tiny", parse_overrides([assignment]))


def test_parameter_files_take_numbers_as_typed(tmp_path):
    text = (REPO / "config" / "tiny.yaml").read_text()
    text = text.replace("learning_rate: 1.0e-04", "learning_rate: 1E-4")
    text = text.replace("shuffle_buffer: 64", "shuffle_buffer: 1_024")
    (tmp_path / "typed.yaml").write_text(text)
    authors, _ = load_params(str(REPO / "config"), "baseline")
    authors.update({"learning_rate": "5e-5", "epochs": 3.0})  # as a hand-edited JSON file may
    (tmp_path / "quoted.params.json").write_text(json.dumps(authors))
    params, _ = load_params(str(tmp_path), "typed")
    assert params["learning_rate"] == 1e-4 and params["shuffle_buffer"] == 1024
    params, _ = load_params(str(tmp_path), "quoted")
    assert params["learning_rate"] == 5e-5 and params["epochs"] == 3


def test_argparse_types():
    parser = argparse.ArgumentParser()
    parser.add_argument("--N", type=integer)
    parser.add_argument("--rate", type=number)
    args = parser.parse_args(["--N", "1_000", "--rate", ".5"])
    assert (args.N, args.rate) == (1000, 0.5)
    assert parser.parse_args(["--N", "3.", "--rate", "5e-5"]).N == 3
    assert parser.parse_args(["--N", "1e3"]).N == 1000
    for bad in (["--N", "2.5"], ["--N", "two"], ["--rate", "inf"], ["--rate", "x"]):
        with pytest.raises(SystemExit):
            parser.parse_args(bad)
