"""Mixed precision: a mixed step stays near the float32 step, and checkpoints are float32."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from syrac.common.config import load_params
from syrac.rank.precision import float32_copy
from syrac.rank.ranking_model import build_ranking_model, compile_ranking_model

SHAPE = (32, 48, 3)


def _step(precision, seed=4):
    params, _ = load_params("config", "tiny", {"precision": precision, "augment": 0,
                                               "num_layers": 0})
    keras.utils.set_random_seed(seed)
    model = compile_ranking_model(build_ranking_model(params), params)
    score = model.rank_decoder.get_layer("score")
    kernel = np.random.default_rng(0).uniform(0, 1, score.kernel.shape)
    score.set_weights([kernel, np.ones(1)])  # a live ReLU: both sides get a score of their own
    a = tf.random.stateless_uniform((2, *SHAPE), seed=(1, 0))
    b = tf.random.stateless_uniform((2, *SHAPE), seed=(1, 1)) * 0.5
    before = [w.numpy().copy() for w in model.trainable_weights]
    logs = model.train_on_batch((a, b), tf.ones((2, 1)), return_dict=True)
    after = [w.numpy() for w in model.trainable_weights]
    return model, logs["loss"], [x - y for x, y in zip(after, before)]


@pytest.fixture(scope="module")
def steps():
    """One step of each precision from the same weights and batch (the tiny test network)."""
    return {precision: _step(precision)
            for precision in ("float32", "mixed_bfloat16", "mixed_float16")}


@pytest.mark.slow
@pytest.mark.parametrize("precision, loss_tolerance", [("mixed_bfloat16", 2e-2),
                                                       ("mixed_float16", 2e-3)])
def test_a_mixed_step_stays_near_the_float32_step(steps, precision, loss_tolerance):
    """The tolerances are relative and follow from the formats, not from one machine: about
    five bfloat16 epsilons (2**-8) and two float16 epsilons (2**-10) of the loss. Measured on
    the tiny test network (a live score, loss 0.240) on a 2-core AMD EPYC: the loss moved by
    1.6e-3 (bfloat16) and 3e-5 (float16) relative. The loss is a sigmoid of a difference of two
    scores, which magnifies the scores' rounding; the network is shallow, which keeps it small
    (a random-init ResNet50 moved float16's loss by 0.014 on one processor and 0.09 on another,
    too deep a network for a bound that holds on both)."""
    _, reference_loss, reference_updates = steps["float32"]
    mixed, loss, updates = steps[precision]
    assert mixed.encoder.layers[2].compute_dtype == precision.split("_")[1]
    assert mixed.rank_decoder.get_layer("score").compute_dtype == "float32"
    assert mixed.augmentation.compute_dtype == mixed.input_scaling.compute_dtype == "float32"
    assert all(w.dtype == "float32" for w in mixed.trainable_weights)  # float32 variables
    assert np.isfinite(loss) and all(np.isfinite(u).all() for u in updates)
    assert loss == pytest.approx(reference_loss, rel=loss_tolerance)
    flat, reference_flat = (np.concatenate([u.ravel() for u in x]) for x in (updates,
                                                                              reference_updates))
    if precision == "mixed_float16":
        optimizer = mixed.optimizer
        assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
        # Dynamic loss scaling: a first step whose scaled gradients overflow is skipped and
        # the scale halved; otherwise the weights moved.
        assert float(optimizer.dynamic_scale) < 2.0**15 or np.abs(flat).max() > 0
    else:
        cosine = flat @ reference_flat / (np.linalg.norm(flat) * np.linalg.norm(reference_flat))
        assert cosine > 0.9  # measured 0.996: the same step, in the same direction


@pytest.mark.slow
def test_a_mixed_checkpoint_is_a_float32_encoder_with_the_same_predictions(steps, tmp_path):
    mixed, _, _ = steps["mixed_bfloat16"]
    copy = float32_copy(mixed.encoder)
    assert all(layer.dtype_policy.name == "float32" for layer in copy._flatten_layers())
    copy.save(tmp_path / "best_model_01.keras")
    loaded = keras.models.load_model(tmp_path / "best_model_01.keras")
    images = tf.random.stateless_uniform((4, *SHAPE), seed=(7, 7)) * 2.0 - 1.0
    full = loaded(images).numpy()
    half = mixed.encoder(images).numpy().astype(np.float32)
    assert loaded.output.dtype == "float32"
    weights = np.random.default_rng(0).uniform(0, 1, full.shape[1])
    # What the count probe computes: bfloat16 features give the same counts to 2% (bfloat16
    # keeps 8 bits of mantissa); the float32 copy is what counting loads.
    np.testing.assert_allclose(half @ weights, full @ weights, rtol=0.02)
