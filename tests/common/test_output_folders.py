"""Every command creates the output folders it is given; a refused command removes them again."""

import argparse
import importlib
import json

import pytest

from syrac import cli
from syrac.__main__ import COMMANDS
from syrac.__main__ import main as syrac_main
from syrac.common.errors import SyracError
from syrac.common.output_folders import (
    CommandParser,
    OutputFolder,
    create_output_folders,
    output_folders,
)


def _parser():
    parser = CommandParser()
    parser.add_argument("--out", action=OutputFolder)
    parser.add_argument("--src")
    commands = parser.add_subparsers(dest="command")
    one = commands.add_parser("one")
    one.add_argument("--cache", action=OutputFolder, default=None)
    two = commands.add_parser("two")
    two.add_argument("--figures", action=OutputFolder, default="figs")
    return parser


def test_output_options_of_the_parser_and_the_chosen_subcommand_are_created(tmp_path):
    parser = _parser()
    args = parser.parse_args(["--out", str(tmp_path / "a" / "b"), "--src", str(tmp_path / "in"),
                              "one", "--cache", str(tmp_path / "c")])
    created = create_output_folders(parser, args)
    assert created == [str(tmp_path / "a"), str(tmp_path / "a" / "b"), str(tmp_path / "c")]
    assert (tmp_path / "a" / "b").is_dir() and (tmp_path / "c").is_dir()
    assert not (tmp_path / "in").exists()  # inputs are never created
    assert not (tmp_path / "figs").exists()  # an option of the sub-command not chosen
    assert create_output_folders(parser, args) == []  # existing folders: nothing new


def test_a_plain_argparse_parser_is_refused_rather_than_creating_nothing(tmp_path):
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", action=OutputFolder)
    with pytest.raises(TypeError, match="CommandParser only, not to ArgumentParser"):
        create_output_folders(parser, parser.parse_args(["--out", str(tmp_path / "o")]))
    assert not (tmp_path / "o").exists()


def _output_folder_options(parser):
    """Every ``OutputFolder`` option of ``parser`` and its sub-commands, found the way the
    library must not look (argparse's private list), to check what CommandParser records."""
    found = []
    for action in parser._actions:
        if isinstance(action, OutputFolder):
            found.append(action.option_strings[0])
        if isinstance(action, argparse._SubParsersAction):
            for name, subparser in action.choices.items():
                found += [f"{name} {option}" for option in _output_folder_options(subparser)]
    return found


def _recorded_options(parser):
    found = [action.option_strings[0] for action in parser.output_options]
    for name, subparser in (parser.subcommands.choices if parser.subcommands else {}).items():
        found += [f"{name} {option}" for option in _recorded_options(subparser)]
    return found


COMMAND_PARSERS = {"train_wrapper.py": cli.training_parser, "finetune_wrapper.py":
                   cli.finetune_parser, **{name: importlib.import_module(module).parser
                                           for name, (module, _) in COMMANDS.items()}}


@pytest.mark.parametrize("name", sorted(COMMAND_PARSERS))
def test_every_command_parser_records_all_its_output_folders(name):
    parser = COMMAND_PARSERS[name](name)
    assert isinstance(parser, CommandParser)
    assert sorted(_recorded_options(parser)) == sorted(_output_folder_options(parser))


def test_every_command_with_an_output_folder_is_checked():
    with_outputs = {name for name, build in COMMAND_PARSERS.items()
                    if _output_folder_options(build(name))}
    assert {"train_wrapper.py", "count", "prepare", "demo", "table", "synth"} <= with_outputs


def test_a_failing_command_removes_only_the_empty_folders_it_made(tmp_path):
    parser = _parser()
    args = parser.parse_args(["--out", str(tmp_path / "new" / "out"), "one",
                              "--cache", str(tmp_path / "cache")])
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "kept.txt").write_text("mine")
    with pytest.raises(SyracError):
        with output_folders(parser, args):
            raise SyracError("refused")
    assert not (tmp_path / "new").exists()
    assert (tmp_path / "cache" / "kept.txt").read_text() == "mine"
    with pytest.raises(RuntimeError):
        with output_folders(parser, args):
            (tmp_path / "new" / "out" / "partial.txt").write_text("written before the failure")
            raise RuntimeError("crash")
    assert (tmp_path / "new" / "out" / "partial.txt").exists()  # never delete what was written


def test_a_file_in_the_way_is_named(tmp_path):
    parser = _parser()
    (tmp_path / "file").write_text("x")
    args = parser.parse_args(["--out", str(tmp_path / "file" / "sub")])
    with pytest.raises(SyracError, match=r"--out .*file/sub: cannot be created, a part of the "
                                         r"path is a file"):
        create_output_folders(parser, args)


@pytest.mark.slow
def test_synth_makes_a_dataset_in_a_data_dir_that_did_not_exist(tmp_path, preset):
    data = tmp_path / "not" / "yet"
    assert syrac_main(["synth", "noisy-counts", "--counts", "1", "--per-count", "1",
                       "--data_dir", str(data), "--out", "counts", "--preset", str(preset),
                       "--size", "32x32", "--steps", "1", "--quiet"]) == 0
    entries = json.loads((data / "counts" / "annotations.json").read_text())
    entries = entries["train"] if isinstance(entries, dict) else entries
    assert [entry["count"] for entry in entries] == [1]
