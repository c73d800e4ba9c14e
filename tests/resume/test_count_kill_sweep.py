"""The Count step (``finetune_wrapper.py``) killed at any instant and run again ends as one
uninterrupted run: one probe, one results file and its figures, the same numbers."""

import json
import re
import shutil

import numpy as np
import pytest

from syrac.count.probe_folder import JOURNAL
from syrac.fixtures import make_count_set
from tests.conftest import EXPERIMENT, REPO, make_encoder_run, run_wrapper
from tests.kill_sweep import covered_kinds, kill_sweep

TAG = re.compile(r"\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d(-\d+)?")


def _command(data, runs):
    return ["finetune_wrapper.py", "--experiment", EXPERIMENT, "--data_dir", data,
            "--train_data", "synth", "--test_data", "bench", "--N", "2", "--experiment_path", runs,
            "--model_path", "MODEL/best_model_01.keras", "--params_dir", "./config/",
            "--params", "tiny", "--seed", "3"]


def _outputs(runs):
    return runs / "MODEL" / "best_model_01" / "noisy_synth_regression"


def _layout(folder):
    """Every file, hidden ones too, with the run's timestamp written as TAG."""
    return sorted(TAG.sub("TAG", str(p.relative_to(folder))) for p in folder.rglob("*")
                  if p.is_file())


def assert_same_count_run(folder, reference):
    assert _layout(folder) == _layout(reference)
    assert not any(part.startswith(".") or part == "previous_probes"
                   for name in _layout(folder) for part in name.split("/"))
    np.testing.assert_allclose(np.load(folder / "probe" / "weights.npy"),
                               np.load(reference / "probe" / "weights.npy"), rtol=1e-6)
    (got,), (want,) = ([json.loads(p.read_text()) for p in f.glob("results.*.json")]
                       for f in (folder, reference))
    for key in ("predictions", "patch_predictions", "counts", "mae", "rmse", "N"):
        np.testing.assert_allclose(got[key], want[key], rtol=1e-6)
    assert got["probe"]["fitted_at"] == json.loads(
        (folder / "probe" / "probe.json").read_text())["fitted_at"]


@pytest.mark.slow
def test_count_step_killed_after_every_kind_of_write_ends_as_one_uninterrupted_run(tmp_path):
    data = tmp_path / "data"
    make_count_set(str(data), name="synth", images=6)
    make_count_set(str(data), name="bench", images=3, split="test")
    reference_runs, runs = tmp_path / "unbroken", tmp_path / "killed"
    make_encoder_run(reference_runs / "MODEL")
    shutil.copytree(reference_runs, runs)
    unbroken = run_wrapper(*_command(data, reference_runs))
    assert unbroken.returncode == 0, unbroken.stderr[-2000:]
    reference = _outputs(reference_runs)


    def finished():
        """The run wrote its results and removed its journal: it had nothing left to do."""
        folder = _outputs(runs)
        return any(folder.glob("results.*.json")) and not (folder / JOURNAL).exists()

    kills, last = kill_sweep(_command(data, runs), lambda: _command(data, runs), runs,
                             cwd=REPO, finished=finished)
    assert getattr(last, "returncode", 0) == 0, last.stderr[-2000:]
    changes = "\n".join(f"{kill.change} +{kill.delay}: {kill.last_change}" for kill in kills)
    kinds = covered_kinds(kills)
    # The probe (saved in a staging folder, then renamed) is the step's first write; what a
    # kill follows after it depends on timing (a kill 0.15 s late can land after the figures,
    # or after the run's last write).
    assert len(kills) >= 2 and kinds, changes  # at the start, and after at least one write
    assert_same_count_run(_outputs(runs), reference)
