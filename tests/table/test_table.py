"""``python -m syrac table`` on fixtures: recipe checks, selection rules, reuse, the four files."""

import csv
import json
import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

from syrac.__main__ import main as syrac_main
from syrac.common.annotations import load_count_set, load_ranking_set
from syrac.count.encoder_loading import load_encoder
from syrac.count.features import extract_features
from syrac.count.probe import CountProbe
from syrac.common.errors import SyracError
from syrac.fixtures import make_count_set, make_ranking_set
from syrac.table.literature import read_literature
from syrac.table.recipe import load_recipe
from syrac.table.rows import Epoch
from syrac.table.selection import choose
from tests.conftest import REPO

LITERATURE = """method,venue,dataset,mae,rmse,source
CrowdCLIP,CVPR 2023,Bench,146.1,,secondary notes of the AFreeCA paper (ECCV 2024)
SYRAC,paper,Bench,,,not available to us: left empty
"""


def _benchmark_with_val(data_dir):
    """``bench`` with a labelled test split and a labelled val split."""
    make_count_set(str(data_dir), "bench_test", images=3, split="test", seed=2)
    make_count_set(str(data_dir), "bench_val", images=2, split="val", seed=3)
    test = json.loads((data_dir / "bench_test" / "annotations.json").read_text())["test"]
    val = json.loads((data_dir / "bench_val" / "annotations.json").read_text())["val"]
    (data_dir / "bench").mkdir()
    (data_dir / "bench" / "annotations.json").write_text(json.dumps({"test": test, "val": val}))


@pytest.fixture(scope="module")
def table_data(tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    make_ranking_set(str(data), "rank", train_pairs=4, val_pairs=2)
    make_count_set(str(data), "noisy", images=5)
    _benchmark_with_val(data)
    return data


def write_recipe(folder, data, **changes):
    recipe = {
        "title": "Fixture table", "data_dir": str(data), "params_dir": str(REPO / "config"),
        "params": "tiny", "set": ["epochs=2"], "seeds": [0], "noisy_set": "noisy", "N": [1, 2],
        "selection": {"rule": "count_val"},
        "benchmarks": [{"dataset": "bench", "split": "test", "val_split": "val",
                        "label": "Bench"}],
        "encoders": [{"name": "untrained", "untrained": True},
                     {"name": "SYRAC ranking", "pretrain": {"dataset": "rank"}},
                     {"name": "mean label", "mean": True}],
        "rank_accuracy": {"dataset": "rank", "split": "val"},
        "literature": "literature.csv",
    }
    recipe.update(changes)
    recipe = {key: value for key, value in recipe.items() if value is not None}
    (folder / "literature.csv").write_text(LITERATURE)
    path = folder / "recipe.yaml"
    path.write_text("# Command: python -m syrac table recipe.yaml\n" + json.dumps(recipe))
    return path


def _table(folder, recipe, capsys=None):
    assert syrac_main(["table", str(recipe), "--out", str(folder / "out")]) == 0
    return json.loads((folder / "out" / "table.json").read_text())


@pytest.fixture(scope="module")
def first_table(table_data, tmp_path_factory):
    folder = tmp_path_factory.mktemp("table")
    recipe = write_recipe(folder, table_data)
    return folder, recipe, _table(folder, recipe)


@pytest.mark.slow
def test_table_files_agree_with_the_cells_they_name(first_table):
    folder, _, document = first_table
    out = folder / "out"
    assert {p.name for p in out.iterdir()} >= {"table.md", "table.csv", "table.tex",
                                               "table.json", "cells", "probes", "runs"}
    assert [r["encoder"] for r in document["rows"]] == ["untrained", "SYRAC ranking",
                                                         "mean label"]
    for row in document["rows"]:
        (source,) = row["sources"]
        cell = json.loads(open(source).read())
        assert cell["split"] == "test" and cell["N"] == row["N"][0]
        assert row["mae"]["mean"] == cell["mae"] and row["rmse"]["mean"] == cell["rmse"]
        for n, grid in row["grid"].items():
            (grid_source,) = grid["sources"]
            grid_cell = json.loads(open(grid_source).read())
            assert grid_cell["N"] == int(n) and grid_cell["mae"] == grid["mae"]["mean"]
        assert row["selected_on"] and all(
            json.loads(open(f).read())["split"] == "val" for f in row["selected_on"])
    with open(out / "table.csv", newline="") as handle:
        ours = [r for r in csv.DictReader(handle) if r["kind"] == "ours"]
    assert [float(r["mae_mean"]) for r in ours] == [r["mae"]["mean"] for r in document["rows"]]
    markdown = (out / "table.md").read_text()
    assert "selected on labelled val" in markdown and '"MSE"' in markdown
    assert f"{document['rows'][1]['mae']['mean']:.2f}" in markdown
    assert "CrowdCLIP (CVPR 2023) | 146.1 |" in markdown
    assert "\\begin{tabular}" in (out / "table.tex").read_text()
    pretrained = document["rows"][1]
    assert pretrained["epochs"][0] in (1, 2)
    assert "| Bench rank accuracy |" in markdown  # count_val: an epoch, so a column, per benchmark
    with open(out / "figure.bench.png", "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_the_mean_row_and_the_rank_accuracy_agree_with_a_count_by_hand(first_table, table_data):
    folder, _, document = first_table
    rows = {row["encoder"]: row for row in document["rows"]}
    labels = [label for _, label in load_count_set(str(table_data), "noisy")]
    truth = np.array([count for _, count in load_count_set(str(table_data), "bench", "test")])
    mean = rows["mean label"]
    assert mean["mae"]["mean"] == pytest.approx(np.mean(np.abs(truth - np.mean(labels))))
    assert mean["rank_accuracy"]["mean"] == 0.5  # a constant ties every pair
    pairs = load_ranking_set(str(table_data), "rank", splits=("val",))["val"]
    for name in ("untrained", "SYRAC ranking"):
        (rank_file,) = rows[name]["rank_sources"]
        cell = json.loads(open(rank_file).read())
        assert (cell["ranking_set"], cell["split"], cell["pairs"]) == ("rank", "val", len(pairs))
        probe = CountProbe.load(folder / "out" / "probes" / cell["probe"])
        encoder = load_encoder(cell["encoder_path"])
        flat = [path for pair in pairs for path in pair]  # one image per pass, in pair order
        features = extract_features(encoder, flat, probe.record.input_shape, 1,
                                    probe.record.preprocessing, progress=False)
        source, target = probe.predict(features).reshape(-1, 2).T
        assert not np.any(np.isclose(source, target))  # no tie that batching could flip
        expected = np.mean(source > target)
        assert cell["rank_accuracy"] == expected == rows[name]["rank_accuracy"]["mean"]


@pytest.mark.slow
def test_a_second_run_reuses_every_cell_and_rewrites_none(first_table, capsys):
    folder, recipe, document = first_table
    out = folder / "out"
    stamps = {p: p.stat().st_mtime_ns for p in (out / "cells").iterdir()}
    again = _table(folder, recipe)
    printed = capsys.readouterr().out
    assert "0 probe(s) and cell(s) computed" in printed
    assert "reusing the finished pre-training" in printed
    assert {p: p.stat().st_mtime_ns for p in (out / "cells").iterdir()} == stamps
    assert again["rows"] == document["rows"]


@pytest.mark.slow
def test_count_val_never_reads_test_labels(first_table, table_data, tmp_path):
    folder, _, document = first_table
    poisoned = tmp_path / "data"
    shutil.copytree(table_data, poisoned)
    path = poisoned / "bench" / "annotations.json"
    bench = json.loads(path.read_text())
    for item in bench["test"]:
        item["count"] = item["count"] * 37 + 1000  # test labels changed beyond recognition
    path.write_text(json.dumps(bench))
    out = tmp_path / "out"
    shutil.copytree(folder / "out" / "runs", out / "runs")  # the same pre-training, reused
    recipe = write_recipe(tmp_path, poisoned)
    assert syrac_main(["table", str(recipe), "--out", str(out)]) == 0
    poisoned_document = json.loads((out / "table.json").read_text())
    for before, after in zip(document["rows"], poisoned_document["rows"]):
        assert (after["N"], after["epochs"]) == (before["N"], before["epochs"])
        assert after["mae"]["mean"] != before["mae"]["mean"]  # the test labels did change


def test_the_rules():
    epochs = [Epoch(1, "a", 0.7), Epoch(2, "b", 0.4), Epoch(3, "c", 0.5)]
    assert choose("fixed", 2, epochs) == (2, 2)
    assert choose("rank_val", 3, epochs) == (1, 3)
    assert choose("rank_val", 1, [Epoch(None, "x")]) == (0, 1)
    val = {(0, 1): 5.0, (0, 2): 4.0, (1, 1): 3.5, (1, 2): 3.9, (2, 1): 3.5}
    assert choose("count_val", None, epochs, val) == (1, 1)  # ties: the earlier epoch


@pytest.mark.parametrize("changes, message", [
    ({"colour": "red"}, "unknown key(s) ['colour']"),
    ({"noisy_set": "nowhere"}, "'noisy_set': no dataset 'nowhere'"),
    ({"benchmarks": [{"dataset": "missing", "split": "test", "val_split": "val"}]},
     "no dataset 'missing'"),
    ({"benchmarks": [{"dataset": "bench", "split": "test"}]},
     "'benchmarks[0].val_split' is needed by selection rule count_val"),
    ({"benchmarks": [{"dataset": "bench", "split": "val", "val_split": "val"}]},
     "nothing may be selected on the split that is reported"),
    ({"selection": {"rule": "best_on_test"}}, "'selection.rule' must be one of"),
    ({"selection": {"rule": "fixed", "N": 3}}, "'selection.N' must be one of N [1, 2]"),
    ({"N": [0]}, "'N' must be distinct integers >= 1"),
    ({"encoders": [{"name": "x", "untrained": True, "pretrain": {"dataset": "rank"}}]},
     "needs exactly one of"),
    ({"encoders": [{"name": "x", "pretrain": {"dataset": "no_such_pairs"}}]},
     "no ranking set 'no_such_pairs'"),
    ({"N": [1, 40]}, "'N' 40 is too large for the input shape 32x48"),
])
def test_bad_recipes_are_refused_in_one_line_before_any_work(table_data, tmp_path, capsys,
                                                            changes, message):
    recipe = write_recipe(tmp_path, table_data, **changes)
    with pytest.raises(SystemExit) as exited:
        syrac_main(["table", str(recipe), "--out", str(tmp_path / "out")])
    assert exited.value.code == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 1 and message in errors[0], errors
    assert not (tmp_path / "out").exists()


def test_unlabelled_split_is_refused(table_data, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(table_data, data)
    path = data / "bench" / "annotations.json"
    bench = json.loads(path.read_text())
    del bench["test"][0]["count"]
    path.write_text(json.dumps(bench))
    with pytest.raises(SyracError, match="1 of 3 images of bench/test have no count"):
        load_recipe(str(write_recipe(tmp_path, data)))


def test_literature_rows_keep_their_sources(tmp_path):
    path = tmp_path / "literature.csv"
    path.write_text(LITERATURE)
    rows = read_literature(str(path))
    assert rows[0].mae == 146.1 and rows[0].rmse is None
    assert rows[0].source.startswith("secondary notes")
    assert rows[1].mae is None and "not available" in rows[1].source
    path.write_text("method,venue,dataset,mae,rmse,source\nX,Y,Bench,1,2,\n")
    with pytest.raises(SyracError, match="line 2: every number needs its source"):
        read_literature(str(path))
    shipped = read_literature(str(REPO / "config" / "literature.csv"))
    assert shipped and all(row.source for row in shipped)


@pytest.mark.slow
def test_the_quick_toy_recipe_runs_end_to_end(tmp_path):
    text = (REPO / "config" / "recipes" / "toy_quick.yaml").read_text()
    text = text.replace("toy_world: {", f"toy_world: {{cache: {tmp_path / 'world'}, ")
    text = text.replace("params_dir: ..", f"params_dir: {REPO / 'config'}")
    # The recipe as shipped, on the tiny test network: what runs is the table's path, not
    # ResNet50 (whose runs other tests check).
    text = text.replace('set: ["input_shape=[32,43,3]", epochs=1]',
                        'set: ["input_shape=[32,43,3]", epochs=1, model_name=tiny_cnn]')
    assert "model_name=tiny_cnn" in text
    recipe = tmp_path / "toy_quick.yaml"
    recipe.write_text(text)
    assert syrac_main(["table", str(recipe), "--out", str(tmp_path / "out")]) == 0
    document = json.loads((tmp_path / "out" / "table.json").read_text())
    assert [r["encoder"] for r in document["rows"]] == [
        "none (untrained)", "intra-image ranking", "SYRAC ranking",
        "predict the mean noisy label"]
    assert all(set(r["grid"]) == {"1", "2"} for r in document["rows"])
    assert [r["rank_accuracy"]["mean"] for r in document["rows"]][-1] == 0.5
    assert all(0 <= r["rank_accuracy"]["mean"] <= 1 for r in document["rows"])
    assert document["rule"] == "rank_val" and document["N"] == 1
    intra = json.loads(next((tmp_path / "world").glob("*/data/toy_intra_rank/annotations.json"))
                       .read_text())
    assert intra["train"] and intra["val"]


@pytest.mark.parametrize("name", sorted(path.name for path in
                                         (REPO / "config" / "recipes").glob("*.yaml")))
def test_shipped_recipes_declare_their_command_runtime_and_numbers(name):
    text = (REPO / "config" / "recipes" / name).read_text()
    header = text.split("\n\n")[0] if not text.startswith("#") else \
        "\n".join(line for line in text.splitlines() if line.startswith("#"))
    for word in ("Command:", "Runtime:", "Expect:"):
        assert word in header, f"{name}: its header comment gives no {word}"
    from syrac.common.numbers import load_yaml

    document = load_yaml(text)
    assert set(document) <= __import__("syrac.table.recipe", fromlist=["TOP_KEYS"]).TOP_KEYS


def test_paper_recipe_is_refused_cleanly_without_its_data(tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        syrac_main(["table", str(REPO / "config" / "recipes" / "paper.yaml"),
                    "--out", str(tmp_path / "out")])
    assert exited.value.code == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "paper.yaml" in line and "data" in line


@pytest.mark.slow
def test_a_killed_table_run_continues_and_keeps_its_finished_cells(table_data, tmp_path, capsys):
    import signal
    import subprocess
    import sys
    import time

    recipe = write_recipe(tmp_path, table_data, selection={"rule": "fixed", "N": 1},
                          benchmarks=[{"dataset": "bench", "split": "test", "label": "Bench"}],
                          set=["epochs=1"])
    out = tmp_path / "out"
    process = subprocess.Popen([sys.executable, "-m", "syrac", "table", str(recipe), "--out",
                                str(out)], cwd=REPO, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and not list((out / "cells").glob("*.json")):
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    finished = {p: p.stat().st_mtime_ns for p in (out / "cells").glob("*.json")}
    assert finished, "the run was killed before its first cell"
    assert syrac_main(["table", str(recipe), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    import re

    computed, reused = map(int, re.search(r"(\d+) probe\(s\) and cell\(s\) computed, (\d+) "
                                          r"reused", printed).groups())
    assert reused >= len(finished) and computed >= 1
    assert {p: p.stat().st_mtime_ns for p in finished} == finished  # kept, not rewritten
    document = json.loads((out / "table.json").read_text())
    assert len(document["rows"]) == 3  # untrained, SYRAC ranking, mean label
    assert not list(out.rglob("*.tmp")) and not list((out / "probes").glob(".*"))


def test_loading_a_toy_recipe_does_no_work_and_make_data_draws_the_world(tmp_path):
    from syrac.table.recipe import make_data

    text = (REPO / "config" / "recipes" / "toy_quick.yaml").read_text()
    text = text.replace("toy_world: {", f"toy_world: {{cache: {tmp_path / 'world'}, ")
    text = text.replace("params_dir: ..", f"params_dir: {REPO / 'config'}")
    path = tmp_path / "toy_quick.yaml"
    path.write_text(text)
    recipe = load_recipe(str(path))
    assert not (tmp_path / "world").exists()  # nothing drawn while loading
    make_data(recipe)
    assert (pathlib.Path(recipe.data_dir) / "toy_bench" / "annotations.json").is_file()
    assert (pathlib.Path(recipe.data_dir) / "toy_intra_rank" / "annotations.json").is_file()


def test_toy_worlds_go_to_the_one_cache_or_next_to_the_recipe(tmp_path, monkeypatch):
    from syrac.common.files import cache_folder

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_folder("toy_world") == str(tmp_path / "xdg" / "syrac" / "toy_world")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_folder() == os.path.join(os.path.expanduser("~"), ".cache", "syrac")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    text = (REPO / "config" / "recipes" / "toy_quick.yaml").read_text()
    text = text.replace("params_dir: ..", f"params_dir: {REPO / 'config'}")
    (tmp_path / "recipes").mkdir()
    default = tmp_path / "recipes" / "default.yaml"
    default.write_text(text)
    assert load_recipe(str(default)).data_dir.startswith(str(tmp_path / "xdg" / "syrac"))
    beside = tmp_path / "recipes" / "beside.yaml"
    beside.write_text(text.replace("toy_world: {", "toy_world: {cache: worlds, "))
    assert load_recipe(str(beside)).data_dir.startswith(str(tmp_path / "recipes" / "worlds"))


@pytest.mark.slow
def test_nae_is_in_every_table_file_even_from_cells_written_before_it(first_table, tmp_path):
    folder, recipe, document = first_table
    out = tmp_path / "out"
    shutil.copytree(folder / "out", out)
    for path in (out / "cells").glob("*.json"):  # cells as this project wrote them before NAE
        cell = json.loads(path.read_text())
        for key in ("nae", "empty_images", "empty_images_mean_count"):
            cell.pop(key, None)
        path.write_text(json.dumps(cell))
    assert syrac_main(["table", str(recipe), "--out", str(out)]) == 0
    again = json.loads((out / "table.json").read_text())
    for row in again["rows"]:
        (source,) = row["sources"]
        cell = json.loads(open(source).read())
        counts, predictions = np.array(cell["counts"]), np.array(cell["predictions"])
        people = counts > 0
        by_hand = np.mean(np.abs(predictions[people] - counts[people]) / counts[people])
        assert row["nae"]["mean"] == pytest.approx(by_hand)
        assert row["empty_images"] == [int(np.sum(~people))]
    with open(out / "table.csv", newline="") as handle:
        ours = [r for r in csv.DictReader(handle) if r["kind"] == "ours"]
    assert [float(r["nae_mean"]) for r in ours] == [r["nae"]["mean"] for r in again["rows"]]
    markdown = (out / "table.md").read_text()
    assert "| Bench NAE |" in markdown and "N=1 NAE" in markdown
    assert "NAE is the mean of |error| / true count" in markdown
    assert "& NAE" in (out / "table.tex").read_text()


def test_the_breakdown_table_of_nwpu_style_metadata_by_hand(tmp_path):
    """The mean predictor on a benchmark whose items carry NWPU-Crowd's level and illumination:
    every figure of ``table.breakdown.json`` worked out by hand."""
    data = tmp_path / "data"
    make_count_set(str(data), "noisy", images=3)
    make_count_set(str(data), "bench", images=4, split="test", seed=2)
    noisy = json.loads((data / "noisy" / "annotations.json").read_text())
    for entry, label in zip(noisy, (2, 4, 9)):
        entry["count"] = label  # the mean predictor says 5 for every image
    (data / "noisy" / "annotations.json").write_text(json.dumps(noisy))
    path = data / "bench" / "annotations.json"
    bench = json.loads(path.read_text())
    for entry, count, level, light in zip(bench["test"], (0, 3, 10, 80), (0, 1, 1, 1),
                                          (0, 0, 2, 2)):
        entry.update(count=count, meta={"level": level, "illumination": light})
    path.write_text(json.dumps(bench))
    recipe = write_recipe(tmp_path, data, selection={"rule": "fixed", "N": 1}, N=[1],
                          benchmarks=[{"dataset": "bench", "split": "test", "label": "Bench"}],
                          encoders=[{"name": "mean", "mean": True}], rank_accuracy=None,
                          literature=None)
    assert syrac_main(["table", str(recipe), "--out", str(tmp_path / "out")]) == 0
    document = json.loads((tmp_path / "out" / "table.breakdown.json").read_text())
    (entry,) = document["benchmarks"]
    levels = entry["kinds"]["levels"]["mean"]
    # errors |5 - true|: 5, 2, 5, 75; level 1 holds the last three
    assert levels["groups"]["level 0 (0)"]["mae"]["mean"] == pytest.approx(5)
    assert levels["groups"]["level 0 (0)"]["nae"] is None  # only an empty image
    assert levels["groups"]["level 1 (1-100)"]["mae"]["mean"] == pytest.approx((2 + 5 + 75) / 3)
    assert levels["groups"]["level 1 (1-100)"]["nae"]["mean"] == pytest.approx(
        (2 / 3 + 5 / 10 + 75 / 80) / 3)
    assert levels["groups"]["level 2 (101-500)"]["n"] == 0
    assert levels["groups"]["level 2 (101-500)"]["mae"] is None
    assert levels["mean_level_mae"]["mean"] == pytest.approx((5 + 82 / 3) / 2)
    light = entry["kinds"]["illumination"]["mean"]["groups"]
    assert light["illumination 0"]["mae"]["mean"] == pytest.approx((5 + 2) / 2)
    assert light["illumination 2"]["rmse"]["mean"] == pytest.approx(((25 + 75**2) / 2) ** 0.5)
    ranges = entry["kinds"]["count_ranges"]["mean"]["groups"]
    assert ranges["low (0-50)"]["n"] == 3 and ranges["medium (51-500)"]["n"] == 1
    markdown = (tmp_path / "out" / "table.breakdown.md").read_text()
    assert "## Bench: scene levels (NWPU-Crowd)" in markdown and "mean of level MAEs" in markdown
    with open(tmp_path / "out" / "table.breakdown.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {(r["breakdown"], r["group"]) for r in rows} >= {("levels", "level 4 (>5000)"),
                                                           ("illumination", "illumination 3")}
    assert all(r["sources"] for r in rows)


@pytest.mark.slow
def test_a_table_with_nwpu_crowd_writes_a_submission_file_per_row(tmp_path):
    from syrac.prepare import raw_fixtures

    data = tmp_path / "data"
    raw_fixtures.make_nwpu_crowd(data / "downloads", sizes=(("train", 2), ("val", 2), ("test", 3)))
    assert syrac_main(["prepare", "nwpu_crowd", "--src", str(data / "downloads"),
                       "--data_dir", str(data)]) == 0
    make_count_set(str(data), "noisy", images=3)
    recipe = write_recipe(tmp_path, data, selection={"rule": "fixed", "N": 1}, N=[1],
                          benchmarks=[{"dataset": "nwpu_crowd", "split": "val",
                                       "label": "NWPU-Crowd (val)"}],
                          encoders=[{"name": "untrained", "untrained": True},
                                    {"name": "mean label", "mean": True}],
                          rank_accuracy=None, literature=None)
    out = tmp_path / "out"
    assert syrac_main(["table", str(recipe), "--out", str(out)]) == 0
    listed = [line.split()[0] for line in
              (data / "downloads" / "NWPU-Crowd" / "test.txt").read_text().splitlines()]
    labels = [label for _, label in load_count_set(str(data), "noisy")]
    for name in ("untrained", "mean_label"):
        lines = (out / f"nwpu_test.{name}.txt").read_text().splitlines()
        assert [line.split(" ")[0] for line in lines] == listed
        assert all(len(line.split(" ")) == 2 and float(line.split(" ")[1]) >= 0
                   for line in lines)
    mean_lines = (out / "nwpu_test.mean_label.txt").read_text().splitlines()
    assert {line.split(" ")[1] for line in mean_lines} == {f"{np.mean(labels):.4f}"}
    breakdown = json.loads((out / "table.breakdown.json").read_text())
    assert "levels" in breakdown["benchmarks"][0]["kinds"]  # the val split's NWPU metadata


@pytest.mark.slow
def test_two_shards_at_once_then_the_assembly_give_the_one_process_table(table_data, tmp_path,
                                                                        capsys):
    recipe = write_recipe(tmp_path, table_data, selection={"rule": "fixed", "N": 1}, N=[1],
                          literature=None)  # 3 units: untrained, SYRAC ranking, the mean
    whole = tmp_path / "whole"
    assert syrac_main(["table", str(recipe), "--out", str(whole)]) == 0
    shared = tmp_path / "shared"
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    shards = [subprocess.Popen([sys.executable, "-m", "syrac", "table", str(recipe), "--out",
                                str(shared), "--shard", f"{index}/2"], cwd=REPO, env=environment,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
              for index in range(2)]
    for shard in shards:
        out, err = shard.communicate(timeout=600)
        assert shard.returncode == 0, err[-3000:]
        assert "run the command again without --shard to assemble the table" in out
    assert not (shared / "table.md").exists()  # a shard makes cells, not the table
    capsys.readouterr()
    assert syrac_main(["table", str(recipe), "--out", str(shared)]) == 0
    assert "0 probe(s) and cell(s) computed" in capsys.readouterr().out  # all made by the shards

    def numbers(folder):
        document = json.loads((folder / "table.json").read_text())
        return [(r["encoder"], r["N"], r["epochs"], r["mae"], r["rmse"], r["nae"])
                for r in document["rows"]]

    assert numbers(shared) == numbers(whole)
    runs = sorted(p.relative_to(shared / "runs").parts[:3]
                  for p in (shared / "runs").glob("*/*/*"))
    assert runs == [("syrac_ranking", "rank", "0")]  # one pre-training, made by one shard


def test_a_row_fits_its_probe_on_its_own_noisy_set(table_data, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(table_data, data)
    noisy = json.loads((data / "noisy" / "annotations.json").read_text())
    (data / "noisy_empty").mkdir()
    empty = [{"image": entry["image"], "count": 0} for entry in noisy[:2]]
    (data / "noisy_empty" / "annotations.json").write_text(json.dumps(noisy + empty))
    recipe = write_recipe(tmp_path, data, selection={"rule": "fixed", "N": 1}, N=[1],
                          rank_accuracy=None, literature=None,
                          encoders=[{"name": "untrained", "untrained": True},
                                    {"name": "untrained, empty scenes", "untrained": True,
                                     "noisy_set": "noisy_empty"},
                                    {"name": "mean", "mean": True},
                                    {"name": "mean, empty scenes", "mean": True,
                                     "noisy_set": "noisy_empty"}])
    out = tmp_path / "out"
    assert syrac_main(["table", str(recipe), "--out", str(out)]) == 0
    rows = {r["encoder"]: r for r in json.loads((out / "table.json").read_text())["rows"]}
    truth = np.array([c for _, c in load_count_set(str(data), "bench", "test")])
    for name, labels in (("mean", [e["count"] for e in noisy]),
                         ("mean, empty scenes", [e["count"] for e in noisy] + [0, 0])):
        assert rows[name]["mae"]["mean"] == pytest.approx(np.mean(np.abs(truth - np.mean(labels))))
    fitted_on = {}
    for name in ("untrained", "untrained, empty scenes"):
        (source,) = rows[name]["sources"]
        probe = CountProbe.load(out / "probes" / json.loads(open(source).read())["probe"])
        fitted_on[name] = (probe.record.provenance["train_data"], probe.record.n_samples)
    assert fitted_on == {"untrained": ("noisy", len(noisy)),
                         "untrained, empty scenes": ("noisy_empty", len(noisy) + 2)}
