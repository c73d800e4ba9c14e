"""Every registered experiment resolves, documents itself and names a valid parameter set."""

import pytest

from experiments import known_experiments, resolve_experiment
from syrac.common.config import load_params
from syrac.common.errors import SyracError


def test_the_seed_experiments_exist():
    names = known_experiments()
    assert "training/baseline" in names
    assert "training/smoke" in names


@pytest.mark.parametrize("name", known_experiments())
def test_every_experiment_resolves_and_documents_itself(name):
    module = resolve_experiment(name)
    assert callable(module.run)
    doc = module.__doc__ or ""
    assert "Command" in doc and "Runtime" in doc and "expect" in doc
    params, _ = load_params("config", getattr(module, "DEFAULT_PARAMS", "baseline"))
    assert params["input_shape"][2] == 3


@pytest.mark.parametrize("name", ["training/nope", "../syrac/config", "/etc/passwd", "training.baseline", ""])
def test_unknown_names_are_refused_with_the_list(name):
    with pytest.raises(SyracError, match="known experiments: .*training/baseline"):
        resolve_experiment(name)


def test_prefix_keeps_families_apart():
    with pytest.raises(SyracError):
        resolve_experiment("training/baseline", prefix="finetuning/")
    assert resolve_experiment("training/baseline/", prefix="training/").__name__ == "experiments.training.baseline"
