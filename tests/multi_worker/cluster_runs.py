"""What the two-worker test modules share: the commands they run and how they compare runs."""

import keras
import numpy as np

from syrac.rank.run_folder import RunFolder
from tests.conftest import REPO, training_command
from tests.kill_sweep import folder_snapshot

EPOCHS, STEPS = 2, 2  # 4 pairs, batch 2 (one pair per worker)
SYNCHRONIZED_WRAPPER = str(REPO / "tests" / "scripts" / "synchronized_train_wrapper.py")
TIMEOUT = 420


def resnet_command(data, runs, *extra):
    """The tiny ResNet50 without augmentation, batch norm synchronized (compared with one
    process)."""
    return [SYNCHRONIZED_WRAPPER, *training_command(
        data, runs, "cluster", "--set", f"epochs={EPOCHS}", "num_layers=0", "augment=0",
        "model_name=resnet50",
        "backup_every_n_batches=100", "--patience", "10", *extra)]


def augmented_command(data, runs):
    """The tiny test network with the augmentation on, on two workers (killed and resumed)."""
    return ["train_wrapper.py", *training_command(
        data, runs, "cluster", "--set", f"epochs={EPOCHS}", "num_layers=0",
        "backup_every_n_batches=1", "--patience", "10", "--strategy", "multi_worker")]


def resume_command(run_dir):
    return ["train_wrapper.py", "--experiment", "training/baseline", "--resume", run_dir]


def run_folders(runs):
    root = runs / "cluster" / "rank" / "0"
    return sorted(root.iterdir()) if root.is_dir() else []


def files(folder):
    return sorted(folder_snapshot(folder))


def _weights(path):
    return keras.saving.load_model(path, compile=False).get_weights()


def assert_same_weights(first, second, tolerance=1e-6):
    for a, b in zip(_weights(first), _weights(second), strict=True):
        np.testing.assert_allclose(a, b, rtol=tolerance, atol=tolerance)


def assert_same_rows(first, second, tolerance=1e-6):
    rows, others = RunFolder(first).rows(), RunFolder(second).rows()
    assert [row.keys() for row in rows] == [row.keys() for row in others]
    for row, other in zip(rows, others, strict=True):
        np.testing.assert_allclose([float(v) for v in row.values()],
                                   [float(v) for v in other.values()], rtol=tolerance)


def ok(results):
    for result in results:
        assert result.returncode == 0, result.stderr[-3000:]
