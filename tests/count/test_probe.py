"""The count probe: non-negative least squares without intercept, saved and read without pickle."""

import json

import numpy as np
import pytest
from scipy.optimize import nnls

from syrac.common.errors import SyracError
from syrac.count.probe import CountProbe


@pytest.fixture
def exact_problem():
    """Non-negative features and counts that are an exact non-negative combination of them."""
    rng = np.random.default_rng(0)
    features = rng.uniform(0, 1, size=(40, 3))
    weights = np.array([2.0, 0.5, 3.0])
    return features, features @ weights, weights


@pytest.fixture
def clamped_problem():
    """Counts whose unconstrained least-squares fit needs a negative weight on feature 1."""
    rng = np.random.default_rng(1)
    features = rng.uniform(0, 1, size=(60, 4))
    counts = features @ np.array([3.0, -2.0, 1.0, 0.5]) + rng.normal(0, 0.05, size=60) + 2.0
    return features, counts


def test_recovers_known_non_negative_weights(exact_problem):
    features, counts, weights = exact_problem
    probe = CountProbe().fit(features, counts)
    np.testing.assert_allclose(probe.weights, weights, atol=1e-9)
    np.testing.assert_allclose(probe.predict(features), counts, atol=1e-9)
    assert probe.feature_dim == 3
    assert probe.description["n_samples"] == 40
    assert probe.description["residuals"]["rmse"] == pytest.approx(0, abs=1e-9)


def test_negative_least_squares_weight_is_clamped_to_zero(clamped_problem):
    features, counts = clamped_problem
    unconstrained = np.linalg.lstsq(features, counts, rcond=None)[0]
    assert unconstrained[1] < 0  # the premise of the test

    probe = CountProbe().fit(features, counts)
    assert probe.weights[1] == 0
    assert np.all(probe.weights >= 0)
    np.testing.assert_allclose(probe.weights, nnls(features, counts)[0], rtol=1e-10, atol=1e-12)

    # On the active set (non-zero weights) the solution is plain least squares: the normal
    # equations restricted to those columns.
    active = probe.weights > 0
    subset = features[:, active]
    restricted = np.linalg.solve(subset.T @ subset, subset.T @ counts)
    np.testing.assert_allclose(probe.weights[active], restricted, rtol=1e-8)
    # Optimality of the clamped coordinates: moving them above zero cannot reduce the error.
    gradient = features.T @ (counts - features @ probe.weights)
    assert np.all(gradient[~active] <= 1e-8)


def test_no_intercept_is_fitted():
    # A constant count with a feature that is zero on some rows: an intercept would fit it
    # exactly, a model without one cannot predict a count on the all-zero row.
    features = np.array([[0.0], [1.0], [2.0]])
    probe = CountProbe().fit(features, [5.0, 5.0, 5.0])
    # Least squares through the origin: w = sum(x * y) / sum(x^2) = 15 / 5.
    assert probe.weights[0] == pytest.approx(3.0)
    assert probe.predict(np.array([[0.0]]))[0] == 0


def test_residual_statistics_describe_the_training_fit(clamped_problem):
    features, counts = clamped_problem
    probe = CountProbe().fit(features, counts)
    residuals = counts - features @ probe.weights
    stats = probe.description["residuals"]
    assert stats["mean"] == pytest.approx(residuals.mean())
    assert stats["std"] == pytest.approx(residuals.std())
    assert stats["mae"] == pytest.approx(np.abs(residuals).mean())
    assert stats["rmse"] == pytest.approx(np.sqrt((residuals**2).mean()))
    assert stats["max_abs"] == pytest.approx(np.abs(residuals).max())
    total = ((counts - counts.mean()) ** 2).sum()
    assert stats["r2"] == pytest.approx(1 - (residuals**2).sum() / total)
    assert probe.description["feature_dim"] == 4
    assert "nnls" in probe.description["fit_method"]


def test_save_load_round_trip(tmp_path, clamped_problem):
    features, counts = clamped_problem
    probe = CountProbe(provenance={"encoder_path": "runs/m.keras", "train_data": "synth"})
    probe.fit(features, counts)
    folder = probe.save(str(tmp_path / "probe"))

    assert np.load(tmp_path / "probe" / "weights.npy", allow_pickle=False).shape == (4,)
    description = json.loads((tmp_path / "probe" / "probe.json").read_text())
    assert description["train_data"] == "synth"
    assert description["n_samples"] == 60

    loaded = CountProbe.load(folder)
    np.testing.assert_array_equal(loaded.weights, probe.weights)
    assert loaded.description == description
    np.testing.assert_array_equal(loaded.predict(features), probe.predict(features))


def test_predict_refuses_features_of_another_size(exact_problem):
    features, counts, _ = exact_problem
    probe = CountProbe().fit(features, counts)
    with pytest.raises(SyracError, match="expects 3 features.*gives 5"):
        probe.predict(np.ones((2, 5)))


def test_fit_refuses_mismatched_lengths():
    with pytest.raises(ValueError, match="3 feature rows and 2 counts"):
        CountProbe().fit(np.ones((3, 2)), [1.0, 2.0])


def _saved(tmp_path, exact_problem):
    features, counts, _ = exact_problem
    return CountProbe().fit(features, counts).save(str(tmp_path / "probe"))


def test_load_missing_probe(tmp_path):
    with pytest.raises(SyracError, match="no count probe in .*missing weights.npy, probe.json"):
        CountProbe.load(str(tmp_path / "nothing"))


def test_load_corrupt_weights(tmp_path, exact_problem):
    folder = _saved(tmp_path, exact_problem)
    (tmp_path / "probe" / "weights.npy").write_bytes(b"not an array at all")
    with pytest.raises(SyracError, match="weights.npy: not a readable .npy array"):
        CountProbe.load(folder)


def test_load_refuses_pickled_objects(tmp_path, exact_problem):
    folder = _saved(tmp_path, exact_problem)
    np.save(tmp_path / "probe" / "weights.npy", np.array([{"a": 1}], dtype=object))
    with pytest.raises(SyracError, match="weights.npy"):
        CountProbe.load(folder)


def test_load_refuses_feature_dim_mismatch(tmp_path, exact_problem):
    folder = _saved(tmp_path, exact_problem)
    path = tmp_path / "probe" / "probe.json"
    description = json.loads(path.read_text())
    description["feature_dim"] = 2048
    path.write_text(json.dumps(description))
    with pytest.raises(SyracError, match="feature_dim=2048 but weights.npy holds 3"):
        CountProbe.load(folder)


def test_load_refuses_negative_weights(tmp_path, exact_problem):
    folder = _saved(tmp_path, exact_problem)
    np.save(tmp_path / "probe" / "weights.npy", np.array([1.0, -1.0, 2.0]))
    with pytest.raises(SyracError, match=">= 0"):
        CountProbe.load(folder)


def test_load_refuses_malformed_description(tmp_path, exact_problem):
    folder = _saved(tmp_path, exact_problem)
    (tmp_path / "probe" / "probe.json").write_text("{ not json")
    with pytest.raises(SyracError, match="probe.json: malformed JSON at line 1"):
        CountProbe.load(folder)


@pytest.mark.parametrize("change, message", [
    ({"n_samples": "60"}, r"'n_samples' must be int\. Received: n_samples='60'"),
    ({"residuals": None}, r"'residuals' must be dict"),
    ({"feature_dim": None, "drop": "count_range"}, r"missing key\(s\) \['count_range'\]"),
])
def test_a_damaged_probe_record_is_refused_by_file_and_key(tmp_path, exact_problem, change,
                                                           message):
    folder = _saved(tmp_path, exact_problem)
    path = tmp_path / "probe" / "probe.json"
    document = json.loads(path.read_text())
    document.pop(change.pop("drop", None), None)
    document.update({key: value for key, value in change.items() if key != "feature_dim"})
    path.write_text(json.dumps(document))
    with pytest.raises(SyracError, match=f"probe.json: {message}"):
        CountProbe.load(folder)


def test_the_record_keeps_every_writers_provenance_beside_its_fields(tmp_path, exact_problem):
    features, counts, _ = exact_problem
    probe = CountProbe(provenance={"train_data": "synth", "run_tag": "t1"}).fit(features, counts)
    probe.record.fitted_at, probe.record.input_shape = "2026-01-01-00-00-00", [32, 48, 3]
    loaded = CountProbe.load(probe.save(str(tmp_path / "probe")))
    assert loaded.record == probe.record
    assert loaded.record.provenance == {"train_data": "synth", "run_tag": "t1"}
    assert loaded.description["input_shape"] == [32, 48, 3]
