"""The installed package is the whole tool: its commands, its Keras classes, its version."""

import json
import os
import pathlib
import shutil
import subprocess
import sys
import tomllib

import keras
import pytest

import syrac
from syrac.count.counter import PatchCounter
from syrac.fixtures import make_count_set
from syrac.rank.backbones import build_encoder
from tests.conftest import REPO

SILENT = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")


def _python(code, cwd, env=None):
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env or SILENT,
                          capture_output=True, text=True, timeout=300)


def test_the_version_is_written_once():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "syrac.__version__"}
    assert syrac.__version__.count(".") == 2


@pytest.mark.slow
def test_import_syrac_waits_for_keras_then_registers_every_class(tmp_path):
    result = _python(
        "import sys, syrac\n"
        "print('tensorflow' in sys.modules)\n"
        "import keras\n"
        "names = ['SiameseRanker', 'InputScaling', 'PatchCounter', 'RankingAugmentation']\n"
        "print(all(keras.saving.get_registered_object('syrac>' + n) for n in names))\n",
        tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["False", "True"]


@pytest.mark.slow
def test_an_exported_counter_loads_after_import_syrac_alone(tmp_path):
    path = tmp_path / "counter.keras"
    counter = PatchCounter(build_encoder("tiny_cnn", [32, 48, 3], None), n=2,
                           image_shape=[32, 48, 3], head_weights=[0.1] * 16)
    counter(keras.ops.zeros([1, 32, 48, 3]))
    counter.save(path)
    for first in ("import syrac\nimport keras", "import keras\nimport syrac"):
        result = _python(f"{first}\nmodel = keras.models.load_model({str(path)!r})\n"
                         "print(type(model).__name__, model.n)", tmp_path)
        assert result.returncode == 0, result.stderr[-2000:]
        assert result.stdout.split() == ["PatchCounter", "2"]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """``pip install .`` (not editable) into a folder of its own, dependencies aside."""
    source, target = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("site")
    for name in ("syrac", "experiments", "train_wrapper.py", "finetune_wrapper.py",
                 "pyproject.toml", "README.md", "LICENSE"):  # built outside the checkout
        copy = shutil.copytree if (REPO / name).is_dir() else shutil.copy
        copy(REPO / name, source / name)
    result = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                             "--target", str(target), str(source)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return target


@pytest.mark.slow
def test_syrac_train_and_finetune_run_from_an_installed_package_outside_the_repository(
        installed, tmp_path):
    environment = dict(SILENT, PYTHONPATH=str(installed))
    where = _python("import syrac, train_wrapper, experiments\n"
                    "print(syrac.__file__, train_wrapper.__file__, experiments.__file__)",
                    tmp_path, environment)
    assert where.returncode == 0, where.stderr[-2000:]
    assert all(path.startswith(str(installed)) for path in where.stdout.split())

    def syrac_command(*arguments):
        return subprocess.run([sys.executable, "-m", "syrac", *map(str, arguments)],
                              cwd=tmp_path, env=environment, capture_output=True, text=True,
                              timeout=600)

    trained = syrac_command("train", "--experiment", "training/smoke", "--set", "epochs=1")
    assert trained.returncode == 0, trained.stderr[-3000:]
    (run_dir,) = (tmp_path / "smoke" / "runs" / "smoke" / "rank" / "0").iterdir()
    args = json.loads((run_dir / "args.json").read_text())
    assert args["experiment"] == "training/smoke"
    assert pathlib.Path(args["params_file"]).parent == installed / "syrac" / "config"

    make_count_set(str(tmp_path / "data"), "synth", images=4)
    make_count_set(str(tmp_path / "data"), "bench", images=2, split="test", seed=2)
    counted = syrac_command(
        "finetune", "--experiment", "finetuning/unsupervised/noisy_synth_regress",
        "--data_dir", tmp_path / "data", "--train_data", "synth", "--test_data", "bench",
        "--N", 1, "--experiment_path", run_dir, "--model_path", "best_model_01.keras")
    assert counted.returncode == 0, counted.stderr[-3000:]
    assert counted.stdout.strip().splitlines()[-1].endswith("on bench, N=1")

    refused = syrac_command("train", "--experiment", "training/nope")
    assert refused.returncode == 2 and "known experiments: " in refused.stderr
    assert "syrac train: error" in refused.stderr
