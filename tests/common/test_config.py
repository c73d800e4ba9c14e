import json

import pytest

from syrac.common.config import (
    PAPER_KEYS,
    defaults,
    load_params,
    parse_overrides,
    validate,
)
from syrac.common.errors import SyracError

PAPER = {
    "input_shape": [640, 853, 3], "batch_size": 3, "epochs": 15, "model_name": "resnet50",
    "weights": "imagenet", "initializations": "glorot_uniform", "optimizer": "adam",
    "augment": 2, "learning_rate": 5e-05, "num_neurons": 128, "num_layers": 0,
    "preprocessing": "resnet_v2",
}


def test_baseline_yaml_holds_the_papers_hyper_parameters():
    params, path = load_params("config", "baseline")
    assert path.endswith("baseline.yaml")
    for key, value in PAPER.items():
        assert params[key] == value, key
    assert params["loss"]["class_name"] == "BinaryCrossentropy"


def test_tiny_config_is_small():
    params, _ = load_params("config", "tiny")
    assert params["input_shape"][0] * params["input_shape"][1] <= 64 * 64
    assert params["weights"] is None


def test_authors_params_json_is_read(tmp_path):
    authors = dict(PAPER, loss={"class_name": "BinaryCrossentropy", "config": {"from_logits": False}})
    del authors["preprocessing"]
    (tmp_path / "baseline.params.json").write_text(json.dumps(authors))
    params, path = load_params(str(tmp_path), "baseline")
    assert path.endswith("baseline.params.json")
    assert params["input_shape"] == [640, 853, 3] and params["learning_rate"] == 5e-05
    assert params["preprocessing"] == "resnet_v2"  # our addition, defaulted


def test_unknown_key_is_refused_by_name(tmp_path):
    (tmp_path / "x.yaml").write_text("epochs: 2\nlearning_rat: 0.1\n")
    with pytest.raises(SyracError, match="learning_rat"):
        load_params(str(tmp_path), "x")


@pytest.mark.parametrize("key, value", [
    ("epochs", "ten"), ("epochs", 0), ("batch_size", 2.5), ("input_shape", [64, 64]),
    ("input_shape", [16, 64, 3]), ("model_name", "resnet18"), ("augment", -1),
    ("learning_rate", True), ("num_layers", -1), ("preprocessing", "v3"),
])
def test_ill_typed_values_are_refused_by_name(key, value):
    with pytest.raises(SyracError, match=f"'{key}' must be"):
        validate({key: value}, complete=False)


def test_overrides_apply_and_are_checked():
    params, _ = load_params("config", "tiny", parse_overrides(["epochs=1", "input_shape=[64,96,3]"]))
    assert params["epochs"] == 1 and params["input_shape"] == [64, 96, 3]
    with pytest.raises(SyracError, match="epochs"):
        load_params("config", "tiny", parse_overrides(["epochs=-3"]))
    with pytest.raises(SyracError, match="key=value"):
        parse_overrides(["epochs"])
    with pytest.raises(SyracError, match="nonsense"):
        load_params("config", "tiny", parse_overrides(["nonsense=1"]))


def test_missing_malformed_and_ambiguous_files(tmp_path):
    with pytest.raises(SyracError, match="no parameter set 'nope'"):
        load_params("config", "nope")
    (tmp_path / "bad.params.json").write_text("{\"epochs\": 1,}")
    with pytest.raises(SyracError, match="malformed JSON at line 1"):
        load_params(str(tmp_path), "bad")
    (tmp_path / "two.yaml").write_text("epochs: 1\n")
    (tmp_path / "two.params.json").write_text("{}")
    with pytest.raises(SyracError, match="ambiguous"):
        load_params(str(tmp_path), "two")


def test_the_papers_keys_are_written_once_and_required():
    paper, _ = load_params("config", "baseline")
    assert set(PAPER_KEYS).isdisjoint(defaults())  # no default for the paper's keys
    assert set(PAPER_KEYS) | set(defaults()) == set(paper)
    given = {key: paper[key] for key in PAPER_KEYS}
    assert validate(given) == paper
    del given["learning_rate"]
    with pytest.raises(SyracError, match=r"missing hyper-parameter\(s\) \['learning_rate'\]"):
        validate(given, source="mine.yaml")
