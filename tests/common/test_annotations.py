import json

import pytest

from syrac.common.annotations import load_count_set, load_ranking_set
from syrac.common.errors import SyracError
from syrac.fixtures import make_count_set, make_ranking_set


@pytest.fixture()
def ranking(tmp_path):
    make_ranking_set(str(tmp_path), "rank", train_pairs=4, val_pairs=2)
    path = tmp_path / "rank" / "annotations.json"
    return tmp_path, path, json.loads(path.read_text())


def _rewrite(path, document):
    path.write_text(json.dumps(document))


def test_valid_ranking_set_loads_full_paths(ranking):
    root, _, _ = ranking
    splits = load_ranking_set(str(root), "rank")
    assert len(splits["train"]) == 4 and len(splits["val"]) == 2
    assert all(source.startswith(str(root)) for source, _ in splits["train"])


def test_leading_slash_paths_are_relative_to_data_dir(ranking):
    root, path, document = ranking
    for pair in document["train"]:
        pair["source_image"] = "/" + pair["source_image"]
    _rewrite(path, document)
    assert len(load_ranking_set(str(root), "rank")["train"]) == 4


def test_filter_classes_drops_pairs_by_type(ranking):
    root, _, document = ranking
    kept = load_ranking_set(str(root), "rank", filter_classes=["removed_more"])
    expected = sum(pair["info"]["type"] != "removed_more" for pair in document["train"])
    assert len(kept["train"]) == expected < 4


def test_malformed_json_names_file_and_line(ranking):
    root, path, _ = ranking
    path.write_text('{"train": [\n  {"source_image": }\n]}')
    with pytest.raises(SyracError, match=r"annotations.json: malformed JSON at line 2"):
        load_ranking_set(str(root), "rank")


def test_missing_annotations_file(tmp_path):
    with pytest.raises(SyracError, match="annotations.json: no such file"):
        load_ranking_set(str(tmp_path), "nowhere")


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.pop("val"), "missing the 'val' split"),
    (lambda d: d["train"][0].pop("source_image"), r"train\[0\] needs 'source_image'"),
    (lambda d: d["train"][1].update(target_image=d["train"][1]["source_image"]),
     r"train\[1\] has the same source_image and target_image"),
    (lambda d: d.update(val=[]), "the 'val' split is empty"),
    (lambda d: d.update(train="pairs"), "'train' must be a list"),
    (lambda d: d["train"][0].update(info="x"), r"train\[0\].info must be an object"),
])
def test_bad_ranking_sets_are_refused(ranking, mutate, message):
    root, path, document = ranking
    mutate(document)
    _rewrite(path, document)
    with pytest.raises(SyracError, match=message):
        load_ranking_set(str(root), "rank")


def test_missing_images_are_named(ranking):
    root, path, document = ranking
    for index, pair in enumerate(document["train"]):
        pair["target_image"] = f"rank/images/gone_{index}.jpg"
    _rewrite(path, document)
    with pytest.raises(SyracError, match=r"4 image file\(s\) not found: .*gone_0.jpg"):
        load_ranking_set(str(root), "rank")


def test_non_image_file_is_named(ranking):
    root, _, document = ranking
    (root / document["train"][0]["source_image"]).write_text("not an image")
    with pytest.raises(SyracError, match="are not JPEG, PNG, BMP, GIF or TIFF"):
        load_ranking_set(str(root), "rank")


def test_filter_that_empties_a_split(ranking):
    root, _, _ = ranking
    with pytest.raises(SyracError, match="empty after --filter_classes"):
        load_ranking_set(str(root), "rank", filter_classes=["removed", "removed_more"])


def test_count_sets_plain_list_and_splits(tmp_path):
    make_count_set(str(tmp_path), "synth", images=3)
    make_count_set(str(tmp_path), "wrapped", images=3, split="train")
    make_count_set(str(tmp_path), "bench", images=2, split="test")
    assert len(load_count_set(str(tmp_path), "synth")) == 3
    assert len(load_count_set(str(tmp_path), "wrapped")) == 3
    items = load_count_set(str(tmp_path), "bench", split="test")
    assert len(items) == 2 and all(isinstance(count, float) for _, count in items)
    with pytest.raises(SyracError, match="missing the 'test' split"):
        load_count_set(str(tmp_path), "wrapped", split="test")


@pytest.mark.parametrize("count, message", [
    (-1, "must not be negative"), ("12", "must be a number"), (None, "must be a number"),
    (True, "must be a number"), (float("nan"), "must be a number"),
])
def test_bad_counts_are_refused(tmp_path, count, message):
    make_count_set(str(tmp_path), "synth", images=2)
    path = tmp_path / "synth" / "annotations.json"
    document = json.loads(path.read_text())
    document[1]["count"] = count
    path.write_text(json.dumps(document))
    with pytest.raises(SyracError, match=r"\[1\].count " + message):
        load_count_set(str(tmp_path), "synth")


def test_empty_count_set(tmp_path):
    (tmp_path / "synth").mkdir()
    (tmp_path / "synth" / "annotations.json").write_text("[]")
    with pytest.raises(SyracError, match="is empty"):
        load_count_set(str(tmp_path), "synth")
