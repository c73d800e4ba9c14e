"""Evaluation figures: count bins of the error plot, PNG files, no overwriting."""

import numpy as np
import pytest

from syrac.common.annotations import load_count_set
from syrac.count import figures
from syrac.fixtures import make_count_set

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_bins_of_twenty_from_the_smallest_count():
    bins, index = figures.count_bins([3, 22, 23, 64])
    assert bins == [(3, 23), (23, 43), (43, 63), (63, 83)]
    assert index.tolist() == [0, 0, 1, 3]


def test_bins_stop_at_1500_with_an_open_last_bin():
    bins, index = figures.count_bins([1470, 1495, 1500, 4000])
    assert bins == [(1470, 1490), (1490, 1500), (1500, None)]
    assert index.tolist() == [0, 1, 2, 2]


def test_only_the_open_bin_above_the_cap():
    bins, index = figures.count_bins([2000.5, 3000])
    assert bins == [(1500, None)]
    assert index.tolist() == [0, 0]


def test_fractional_counts_start_at_the_floor():
    bins, index = figures.count_bins([0.5, 19.9, 20.0])
    assert bins == [(0, 20), (20, 40)]
    assert index.tolist() == [0, 0, 1]


def test_figures_are_written_once(tmp_path):
    data_dir = tmp_path / "data"
    make_count_set(str(data_dir), name="bench", images=3, split="test")
    items = load_count_set(str(data_dir), "bench", split="test")
    true = np.array([count for _, count in items])
    predicted = true + np.array([1.0, -2.0, 0.5])
    patch_predictions = np.repeat(predicted[:, None] / 4, 4, axis=1)
    paths = {name: tmp_path / f"{name}.png" for name in ("errors", "scatter", "grid")}
    figures.error_by_count_range(predicted, true, str(paths["errors"]), title="bench, N=2")
    figures.predicted_vs_true(predicted, true, str(paths["scatter"]), mae=1.17, rmse=1.29)
    figures.patch_grids(
        [path for path, _ in items], [32, 48, 3], 2, patch_predictions, true,
        path=str(paths["grid"])
    )
    for path in paths.values():
        assert path.read_bytes()[:8] == PNG_MAGIC
    with pytest.raises(FileExistsError):
        figures.predicted_vs_true(predicted, true, str(paths["scatter"]), mae=1.0, rmse=1.0)
