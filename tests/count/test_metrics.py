"""Counting metrics on vectors whose values are worked out by hand."""

import json
import math

import pytest

from syrac.count.metrics import count_metrics, json_ready, r2_score, rank_accuracy


def test_metrics_on_hand_computed_vectors():
    # errors = predicted - true = [-1, 0, -2, 3]
    metrics = count_metrics([1, 2, 3, 4], [2, 2, 5, 1])
    assert metrics["mae"] == pytest.approx(6 / 4)
    assert metrics["mse"] == pytest.approx(14 / 4)  # no square root, as the authors
    assert metrics["rmse"] == pytest.approx(math.sqrt(14 / 4))
    # mean(true) = 2.5, total sum of squares = 0.25 + 0.25 + 6.25 + 2.25 = 9
    assert metrics["r2"] == pytest.approx(1 - 14 / 9)
    assert metrics["n"] == 4
    # NAE = mean(|error| / true) = (1/2 + 0/2 + 2/5 + 3/1) / 4; no image is empty
    assert metrics["nae"] == pytest.approx((0.5 + 0 + 0.4 + 3) / 4)
    assert metrics["empty_images"] == 0 and math.isnan(metrics["empty_images_mean_count"])


def test_nae_leaves_empty_images_out_and_says_what_they_were_given():
    # true [0, 4, 0, 10], predicted [3, 5, 1, 8]: NAE over the two images with people only
    metrics = count_metrics([3, 5, 1, 8], [0, 4, 0, 10])
    assert metrics["nae"] == pytest.approx((1 / 4 + 2 / 10) / 2)
    assert metrics["mae"] == pytest.approx((3 + 1 + 1 + 2) / 4)  # MAE keeps every image
    assert metrics["empty_images"] == 2
    assert metrics["empty_images_mean_count"] == pytest.approx(2.0)
    only_empty = json_ready(count_metrics([1, 2], [0, 0]))
    assert only_empty["nae"] is None and only_empty["empty_images_mean_count"] == 1.5


def test_perfect_predictions():
    metrics = count_metrics([3.0, 7.0, 11.0], [3, 7, 11])
    assert metrics["mae"] == 0 and metrics["mse"] == 0 and metrics["rmse"] == 0
    assert metrics["r2"] == 1.0


def test_predicting_the_mean_gives_r2_zero():
    assert r2_score([4, 4, 4], [2, 4, 6]) == pytest.approx(0.0)


def test_constant_true_counts_give_undefined_r2_written_as_null():
    metrics = count_metrics([5, 6], [5, 5])
    assert math.isnan(metrics["r2"])
    assert metrics["mae"] == pytest.approx(0.5)
    ready = json_ready(metrics)
    assert ready["r2"] is None
    assert json.loads(json.dumps(ready, allow_nan=False))["r2"] is None


@pytest.mark.parametrize(
    "predicted, true, message",
    [
        ([1, 2], [1], "differ in length"),
        ([], [], "at least one"),
        ([1, float("nan")], [1, 2], "finite"),
    ],
)
def test_bad_inputs_are_refused(predicted, true, message):
    with pytest.raises(ValueError, match=message):
        count_metrics(predicted, true)


def test_rank_accuracy_counts_a_tie_as_one_half():
    # pairs: right, wrong, tie, right -> (1 + 0 + 0.5 + 1) / 4
    assert rank_accuracy([3.0, 1.0, 2.0, 5.0], [1.0, 2.0, 2.0, 4.9]) == 0.625
    assert rank_accuracy([7.0] * 5, [7.0] * 5) == 0.5  # a constant predictor


@pytest.mark.parametrize("source, target", [([], []), ([1.0, 2.0], [1.0])])
def test_rank_accuracy_needs_paired_scores(source, target):
    with pytest.raises(ValueError, match="as many sources as targets"):
        rank_accuracy(source, target)
