"""Encoder factory, ranking decoder, siamese forward pass, loss, metrics and .keras round trips."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from syrac.common.config import load_params
from syrac.common.errors import SyracError
from syrac.rank.backbones import build_encoder
from syrac.rank.distribution import Distribution
from syrac.rank.input_scaling import InputScaling
from syrac.rank.ranking_model import (
    SiameseRanker,
    build_rank_decoder,
    build_ranking_model,
    compile_ranking_model,
)
from syrac.rank.training import build_and_restore

SHAPE = (32, 48, 3)


@pytest.fixture(scope="module")
def tiny_params():
    params, _ = load_params("config", "tiny")
    return params


@pytest.fixture(scope="module")
def model(tiny_params):
    keras.utils.set_random_seed(0)
    ranker = build_ranking_model(tiny_params)
    compile_ranking_model(ranker, tiny_params)
    return ranker


def _pairs(seed, batch=2):
    a = tf.random.stateless_uniform((batch, *SHAPE), seed=(seed, 0))
    b = tf.random.stateless_uniform((batch, *SHAPE), seed=(seed, 1))
    return a, b


def test_encoders_give_pooled_features():
    assert build_encoder("resnet50", SHAPE, None).output.shape == (None, 2048)
    assert build_encoder("vgg16", SHAPE, None).output.shape == (None, 512)


@pytest.mark.slow  # a full ResNet50, twice
def test_encoder_loads_a_local_weights_file(tmp_path):
    source = keras.applications.ResNet50(include_top=False, weights=None, input_shape=(64, 64, 3))
    path = tmp_path / "resnet50_notop.weights.h5"
    source.save_weights(path)
    encoder = build_encoder("resnet50", SHAPE, str(path))  # other input size, same kernels
    for expected, loaded in zip(source.weights, encoder.weights):
        np.testing.assert_array_equal(expected.numpy(), loaded.numpy())


@pytest.mark.parametrize("weights, message", [
    ("/nowhere/w.h5", "no such file"), (__file__, "not an .h5 weights file"),
])
def test_bad_weights_are_refused(weights, message):
    with pytest.raises(SyracError, match=message):
        build_encoder("resnet50", SHAPE, weights)
    with pytest.raises(SyracError, match="model_name"):
        build_encoder("resnet18", SHAPE, None)


def test_rank_decoder_structure():
    decoder = build_rank_decoder(6, num_layers=2, num_neurons=4)
    assert [layer.name for layer in decoder.layers[1:]] == ["hidden_0", "hidden_1", "score", "score_relu"]
    assert isinstance(decoder.get_layer("score").kernel_constraint, keras.constraints.NonNeg)
    assert float(tf.reduce_min(decoder(tf.random.normal((16, 6))))) >= 0.0


def test_input_scaling_modes():
    white = tf.ones((1, 2, 2, 3))
    np.testing.assert_allclose(InputScaling("resnet_v2")(white).numpy(), 1.0)
    np.testing.assert_allclose(InputScaling("resnet_v2")(tf.zeros((1, 2, 2, 3))).numpy(), -1.0)
    red = tf.constant([[[[1.0, 0.0, 0.0]]]])
    caffe = InputScaling("caffe")(red).numpy()[0, 0, 0]
    expected = keras.applications.resnet50.preprocess_input(np.array([[[[255.0, 0.0, 0.0]]]]))[0, 0, 0]
    np.testing.assert_allclose(caffe, expected, rtol=1e-5)
    np.testing.assert_allclose(InputScaling("resnet_v2")(white * 2).numpy(), 1.0)  # clipped first


def test_forward_pass_is_sigmoid_of_score_difference(model):
    a, b = _pairs(1)
    out = model((a, b), training=False).numpy()
    scaled = model.input_scaling(tf.concat([a, b], 0))
    features = model.encoder(scaled, training=False)
    scores = model.rank_decoder(features).numpy()[:, 0]
    expected = 1 / (1 + np.exp(-(scores[:2] - scores[2:])))
    np.testing.assert_allclose(out[:, 0], expected, rtol=1e-5, atol=1e-6)


class SidesEncodedApart(SiameseRanker):
    """A wrong ranker that encodes the two sides in two calls (batch norm sees B, not 2B)."""

    def call(self, inputs, training=False):
        source, target = (self.input_scaling(side) for side in inputs)
        margin = (self.rank_decoder(self.encoder(source, training=training))
                  - self.rank_decoder(self.encoder(target, training=training)))
        return tf.sigmoid(margin)


def _encodes_sides_together(ranker, a, b):
    """Whether, in training mode, ranker((a, b)) is sigmoid(r(f[:B]) - r(f[B:])) with f the
    encoder applied once to both sides concatenated (batch statistics over 2B images)."""
    out = ranker((a, b), training=True).numpy()
    features = ranker.encoder(ranker.input_scaling(tf.concat([a, b], 0)), training=True)
    scores = ranker.rank_decoder(features).numpy()[:, 0]
    half = a.shape[0]
    expected = 1 / (1 + np.exp(-(scores[:half] - scores[half:])))
    return np.allclose(out[:, 0], expected, rtol=1e-4, atol=1e-6)


def test_batch_norm_sees_both_sides_together(model):
    a, b = _pairs(2)
    together = SiameseRanker(model.encoder, model.rank_decoder)  # no augmentation: deterministic
    assert _encodes_sides_together(together, a, b)
    apart = SidesEncodedApart(model.encoder, model.rank_decoder)
    assert not _encodes_sides_together(apart, a, b)  # the check tells the two apart


@pytest.mark.slow
def test_one_training_step_updates_and_keeps_kernel_non_negative(model):
    a, b = _pairs(3)
    labels = tf.ones((2, 1))
    before = [w.numpy().copy() for w in model.rank_decoder.weights]
    logs = model.train_on_batch((a, b), labels, return_dict=True)
    assert set(logs) == {"loss", "rank_accuracy"}
    assert np.isfinite(logs["loss"]) and 0.0 <= logs["rank_accuracy"] <= 1.0
    after = model.rank_decoder.weights
    assert any(not np.array_equal(x, y.numpy()) for x, y in zip(before, after))
    assert float(tf.reduce_min(model.rank_decoder.get_layer("score").kernel)) >= 0.0
    evaluation = model.evaluate(tf.data.Dataset.from_tensors(((a, b), labels)), return_dict=True, verbose=0)
    assert set(evaluation) == {"loss", "rank_accuracy"}
    predictions = model((a, b), training=False).numpy()
    expected_loss = float(np.mean(-np.log(np.clip(predictions, 1e-7, 1 - 1e-7))))
    assert evaluation["loss"] == pytest.approx(expected_loss, rel=1e-4)
    assert evaluation["rank_accuracy"] == pytest.approx(float(np.mean(predictions > 0.5)))


@pytest.mark.slow
def test_model_keras_round_trip(tiny_params, tmp_path):
    keras.utils.set_random_seed(1)
    model = compile_ranking_model(build_ranking_model(tiny_params), tiny_params)
    a, b = _pairs(4)
    model.train_on_batch((a, b), tf.ones((2, 1)))  # so that there is optimizer state to keep
    path = tmp_path / "ranker.keras"
    model.save(path)
    restored = keras.models.load_model(path)
    assert isinstance(restored, SiameseRanker)
    np.testing.assert_allclose(restored((a, b)).numpy(), model((a, b)).numpy(), rtol=1e-5)
    assert restored.augmentation.get_config() == model.augmentation.get_config()
    assert restored.input_scaling.mode == model.input_scaling.mode
    assert int(restored.optimizer.iterations) == int(model.optimizer.iterations) == 1


def test_encoder_checkpoint_round_trip(model, tmp_path):
    a, _ = _pairs(5)
    model.encoder.save(tmp_path / "best_model_01.keras")
    encoder = keras.models.load_model(tmp_path / "best_model_01.keras")
    np.testing.assert_allclose(encoder(a).numpy(), model.encoder(a).numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_the_whole_train_step_compiles_with_xla_and_trains(tiny_params):
    params = {**tiny_params, "jit_compile": True}
    keras.utils.set_random_seed(2)
    model = compile_ranking_model(build_ranking_model(params), params)
    assert model.jit_compile is True
    a, b = _pairs(6)
    before = [w.numpy().copy() for w in model.encoder.trainable_weights[:3]]
    first = model.train_on_batch((a, b), tf.ones((2, 1)), return_dict=True)
    second = model.train_on_batch((a, b), tf.ones((2, 1)), return_dict=True)
    assert np.isfinite(first["loss"]) and np.isfinite(second["loss"])
    assert any(not np.array_equal(x, w.numpy()) for x, w in zip(before, model.encoder.trainable_weights))
    from syrac.rank.ranking_model import resolve_jit_compile

    assert resolve_jit_compile("auto") is bool(tf.config.list_physical_devices("GPU"))
    assert resolve_jit_compile(False) is False


def test_the_train_step_is_traced_once(tiny_params, tmp_path):
    """``build_and_restore`` builds the optimizer, so its variables are not created inside the
    first traced step, which tf.function would trace a second time (15 of a tiny ResNet50
    run's 43 CPU-seconds)."""
    model, position = build_and_restore(tiny_params, str(tmp_path), Distribution.named("default"))
    assert position is None and model.optimizer.built
    traces = []
    train_step = model.train_step

    def counted(data):
        traces.append(1)  # Python runs only while tf.function traces
        return train_step(data)

    model.train_step = counted
    a, b = _pairs(4)
    pairs = tf.data.Dataset.from_tensors(((a, b), tf.ones((2, 1)))).repeat(3)
    model.fit(pairs, epochs=1, verbose=0)
    assert len(traces) == 1
