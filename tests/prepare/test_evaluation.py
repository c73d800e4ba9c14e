"""Prepared benchmarks through ``finetune_wrapper.py``: ``--split val`` is scored, the test split
of a prepared dataset is scored, and count-less test images (NWPU-Crowd) are refused.

The encoder is the session's real tiny pre-training run (``pretrained_run``), copied so that
probes and results stay in this module's folders. The wrapper runs once as a real command; the
other evaluations run in-process.
"""

import glob
import json
import re
import shutil

import pytest

from experiments import resolve_experiment
from syrac.cli import finetune_parser
from syrac.common.annotations import load_count_set, load_item_metas
from syrac.count.breakdowns import NWPU_LEVELS
from syrac.common.errors import SyracError
from syrac.fixtures import make_count_set
from syrac.prepare import raw_fixtures
from syrac.prepare.command import parser as prepare_parser
from syrac.prepare.command import run as prepare_run
from tests.conftest import run_wrapper

EXPERIMENT = "finetuning/unsupervised/noisy_synth_regress"


def prepare(*argv):
    prepare_run(prepare_parser("python -m syrac prepare").parse_args([str(a) for a in argv]))


def command(data, runs, *extra):
    return [
        "--experiment", EXPERIMENT, "--data_dir", str(data), "--train_data", "synth",
        "--N", "2", "--experiment_path", str(runs), "--model_path", "MODEL/best_model_01.keras",
        "--params_dir", "./config/", "--params", "tiny", *extra,
    ]


def run_in_process(argv):
    args = finetune_parser().parse_args(argv)
    resolve_experiment(args.experiment, prefix="finetuning/").run(args)


def results(runs):
    folder = runs / "MODEL" / "best_model_01" / "noisy_synth_regression"
    paths = sorted(glob.glob(str(folder / "results.*.json")))
    return [json.loads(open(path).read()) for path in paths]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """DATA with a noisy count set ``synth`` and two prepared benchmarks: ``nwpu_crowd``
    (referenced in place, count-less test) and ``shanghaitech_a`` (absolute raw paths)."""
    root = tmp_path_factory.mktemp("prepared")
    data, raw = root / "data", root / "raw"
    data.mkdir()
    make_count_set(str(data), "synth", images=6)
    raw_fixtures.make_nwpu_crowd(data / "downloads", sizes=(("train", 3), ("val", 3), ("test", 2)))
    prepare("nwpu_crowd", "--src", data / "downloads", "--data_dir", data)
    raw_fixtures.make_shanghaitech(raw, "A", train=3, test=3)
    prepare("shanghaitech_a", "--src", raw, "--data_dir", data)
    return data


@pytest.fixture(scope="module")
def val_run(prepared, pretrained_run, tmp_path_factory):
    """``finetune_wrapper.py --test_data nwpu_crowd --split val``, run once as a real command."""
    runs = tmp_path_factory.mktemp("runs")
    (runs / "MODEL").mkdir()
    for name in ("best_model_01.keras", "hyperparams.json"):
        shutil.copy(pretrained_run / name, runs / "MODEL" / name)
    completed = run_wrapper("finetune_wrapper.py",
                            *command(prepared, runs, "--test_data", "nwpu_crowd", "--split", "val"))
    return completed, runs


@pytest.mark.slow
def test_split_val_evaluates_the_val_split(val_run, prepared):
    completed, runs = val_run
    assert completed.returncode == 0, completed.stderr[-3000:]
    last = completed.stdout.strip().splitlines()[-1]
    assert re.match(r"^MAE \d+\.\d\d RMSE \d+\.\d\d NAE (\d+\.\d\d\d|n/a)( \(.*\))? on "
                    r"nwpu_crowd \(val\), N=2$", last), last
    (document,) = [d for d in results(runs) if d["test_data"] == "nwpu_crowd"]  # any order
    val = load_count_set(str(prepared), "nwpu_crowd", split="val")
    assert document["test_split"] == "val" and document["test_data"] == "nwpu_crowd"
    assert document["image_paths"] == [path for path, _ in val]
    assert document["counts"] == [count for _, count in val]
    # NWPU-Crowd's breakdowns, from the levels and illumination prepare kept for each image
    metas = load_item_metas(str(prepared), "nwpu_crowd", "val")
    breakdown = document["breakdown"]
    assert sum(group["n"] for group in breakdown["levels"].values()) == len(val)
    for level, name in NWPU_LEVELS.items():
        members = [i for i, meta in enumerate(metas) if meta["level"] == level]
        assert breakdown["levels"][name]["n"] == len(members)
        if members:
            errors = [abs(document["predictions"][i] - document["counts"][i]) for i in members]
            assert breakdown["levels"][name]["mae"] == pytest.approx(sum(errors) / len(errors))
    assert set(breakdown) == {"count_ranges", "levels", "mean_level_mae", "mean_level_mae_over",
                              "illumination"}


@pytest.mark.slow
def test_the_test_split_of_a_prepared_benchmark_is_evaluated(val_run, prepared, capsys):
    _, runs = val_run
    run_in_process(command(prepared, runs, "--test_data", "shanghaitech_a", "--stage", "evaluate"))
    assert capsys.readouterr().out.strip().splitlines()[-1].endswith("on shanghaitech_a, N=2")
    (document,) = [d for d in results(runs) if d["test_data"] == "shanghaitech_a"]
    test = load_count_set(str(prepared), "shanghaitech_a", split="test")
    assert document["test_split"] == "test"
    assert document["image_paths"] == [path for path, _ in test]  # absolute raw paths
    assert document["counts"] == [count for _, count in test]


@pytest.mark.slow
def test_nwpu_test_split_is_counted_into_the_submission_file(val_run, prepared, capsys):
    """Hidden labels: the test split is counted, not scored, into ``id count`` lines in
    ``test.txt``'s order, the format NWPU-Crowd's online benchmark takes."""
    _, runs = val_run
    run_in_process(command(prepared, runs, "--test_data", "nwpu_crowd", "--split", "test",
                           "--stage", "evaluate"))
    printed = capsys.readouterr().out
    assert "NWPU-Crowd submission: " in printed
    (path,) = glob.glob(str(runs / "MODEL" / "best_model_01" / "*" / "nwpu_test.*.txt"))
    listed = [line.split()[0] for line in
              open(prepared / "downloads" / "NWPU-Crowd" / "test.txt").read().splitlines()]
    lines = open(path).read().splitlines()
    assert [line.split(" ")[0] for line in lines] == listed  # every test image, in order
    assert all(re.fullmatch(r"\d{4} \d+\.\d{4}", line) for line in lines), lines
    assert open(path).read().endswith("\n") and "" not in lines


def test_count_less_images_of_another_split_are_refused(prepared, tmp_path):
    """Refused while reading the annotations, before any model is loaded: only NWPU-Crowd's
    test set is counted without labels (for its online benchmark)."""
    (prepared / "hidden").mkdir(exist_ok=True)  # beside the prepared sets: same image paths
    path = prepared / "hidden" / "annotations.json"
    document = json.loads((prepared / "nwpu_crowd" / "annotations.json").read_text())
    document["meta"]["dataset"] = "another_benchmark"
    path.write_text(json.dumps(document))
    message = (r"hidden/annotations\.json: 2 of 2 images of the 'test' split have no count "
               r"and cannot be scored \(e\.g\. \S+0007\.jpg\); NWPU-Crowd test labels are not "
               r"public: evaluate with --split val$")
    with pytest.raises(SyracError, match=message):
        run_in_process(command(prepared, tmp_path, "--test_data", "hidden"))


def test_a_missing_nwpu_test_image_is_refused_before_any_work(prepared, tmp_path):
    (prepared / "nwpu_missing").mkdir(exist_ok=True)
    document = json.loads((prepared / "nwpu_crowd" / "annotations.json").read_text())
    document["test"][0]["image"] = "nwpu_crowd/gone/9999.jpg"
    (prepared / "nwpu_missing" / "annotations.json").write_text(json.dumps(document))
    with pytest.raises(SyracError, match=r"9999\.jpg"):
        run_in_process(command(prepared, tmp_path, "--test_data", "nwpu_missing", "--split",
                               "test"))
    assert not list(tmp_path.glob("**/nwpu_test.*.txt"))
