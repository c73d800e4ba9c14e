"""Each augmentation layer's semantics, eagerly and inside tf.data, and .keras round trips."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from syrac.rank.augmentation import (
    RandomColourAffine,
    RankingAugmentation,
    ReflectGaussianBlur,
    UniformNoise,
    augmentation_strengths,
    gaussian_taps,
)

IMAGES = tf.random.stateless_uniform((3, 16, 20, 3), seed=(1, 2))


def _in_tf_data(layer, images, training=True):
    dataset = tf.data.Dataset.from_tensors(images).map(
        lambda batch: layer(batch, training=training), num_parallel_calls=2)
    return next(iter(dataset))


@pytest.mark.parametrize("mode", ["eager", "tf.data"])
def test_blur_keeps_constant_image_constant(mode):
    constant = tf.fill((2, 9, 11, 3), 0.37)
    layer = ReflectGaussianBlur(4, 0.5, rate=1.0)
    out = layer(constant, training=True) if mode == "eager" else _in_tf_data(layer, constant)
    np.testing.assert_allclose(out.numpy(), 0.37, atol=1e-6)


def test_blur_taps_match_the_authors_even_kernel():
    weights, offsets = gaussian_taps(4, 0.5)
    np.testing.assert_array_equal(offsets.numpy(), [-1, 0, 1, 2])
    expected = np.exp(-np.array([-1, 0, 1, 2]) ** 2 / (2 * 0.25))
    np.testing.assert_allclose(weights.numpy(), expected / expected.sum(), rtol=1e-6)


def test_blur_uses_reflect_padding_and_offsets():
    # An impulse at the left border: reflect padding mirrors column 1 into the padded column.
    row = np.zeros((1, 1, 6, 1), np.float32)
    row[0, 0, 1, 0] = 1.0
    image = np.repeat(row, 4, axis=1)  # constant along height, so only the width blur matters
    out = ReflectGaussianBlur(4, 0.5, rate=1.0).blur(tf.constant(image)).numpy()[0, 0, :, 0]
    w, _ = gaussian_taps(4, 0.5)
    w = w.numpy()
    # out[i] = sum_k w[k] * x[i + k - 1] with x[-1] = x[1] (reflect); the impulse is at x[1].
    expected = np.zeros(6)
    for i in range(6):
        for k, offset in enumerate([-1, 0, 1, 2]):
            j = i + offset
            j = -j if j < 0 else (2 * 5 - j if j > 5 else j)
            expected[i] += w[k] * (1.0 if j == 1 else 0.0)
    np.testing.assert_allclose(out, expected, atol=1e-6)


def test_blur_rate_zero_and_one():
    never = ReflectGaussianBlur(4, 0.5, rate=0.0)(IMAGES, training=True)
    always = ReflectGaussianBlur(4, 0.5, rate=1.0)(IMAGES, training=True)
    np.testing.assert_array_equal(never.numpy(), IMAGES.numpy())
    assert float(tf.reduce_max(tf.abs(always - IMAGES))) > 0.01


@pytest.mark.parametrize("mode", ["eager", "tf.data"])
def test_noise_stays_within_its_bound(mode):
    middle = tf.fill((2, 8, 8, 3), 0.5)
    layer = UniformNoise(0.05)
    out = layer(middle, training=True) if mode == "eager" else _in_tf_data(layer, middle)
    difference = np.abs(out.numpy() - 0.5)
    assert difference.max() <= 0.05 + 1e-6 and difference.max() > 0.01
    clipped = layer(tf.ones((1, 8, 8, 3)), training=True).numpy()
    assert clipped.max() <= 1.0


@pytest.mark.parametrize("mode", ["eager", "tf.data"])
def test_colour_affine_is_a_per_image_3x3_transform(mode):
    layer = RandomColourAffine(brightness=0.2, jitter=0.05)
    images = IMAGES * 0.5  # stay clear of the clip so the transform is visible
    out = (layer(images, training=True) if mode == "eager" else _in_tf_data(layer, images)).numpy()
    for index in range(images.shape[0]):
        pixels = images[index].numpy().reshape(-1, 3)
        matrix, *_ = np.linalg.lstsq(pixels, out[index].reshape(-1, 3), rcond=None)
        diagonal = np.diag(matrix)
        assert np.all(np.abs(diagonal - 1) <= 0.2 + 0.05 + 1e-4)
        off_diagonal = matrix[~np.eye(3, dtype=bool)]
        assert np.all(np.abs(off_diagonal) <= 0.05 + 1e-4)


@pytest.mark.parametrize("layer", [
    ReflectGaussianBlur(4, 0.5, rate=1.0), RandomColourAffine(0.2, 0.075), UniformNoise(0.05),
    RankingAugmentation(2),
])
@pytest.mark.parametrize("mode", ["eager", "tf.data"])
def test_not_training_is_identity(layer, mode):
    out = layer(IMAGES, training=False) if mode == "eager" else _in_tf_data(layer, IMAGES, False)
    np.testing.assert_array_equal(out.numpy(), IMAGES.numpy())


@pytest.mark.parametrize("mode", ["eager", "tf.data"])
def test_full_stack_changes_images_and_stays_in_range(mode):
    layer = RankingAugmentation(2)
    out = layer(IMAGES, training=True) if mode == "eager" else _in_tf_data(layer, IMAGES)
    assert out.shape == IMAGES.shape
    assert 0.0 <= float(tf.reduce_min(out)) and float(tf.reduce_max(out)) <= 1.0
    assert float(tf.reduce_mean(tf.abs(out - IMAGES))) > 0.005


def test_full_stack_order_and_strengths():
    layer = RankingAugmentation(2)
    names = [stage.name for stage in layer.stages]
    assert names == ["flip", "zoom_out", "blur", "colour_affine", "contrast", "noise"]
    strength = augmentation_strengths(2)
    assert strength == pytest.approx({"zoom_out": 0.3, "blur_sigma": 0.5, "brightness": 0.2,
                                      "jitter": 0.075, "contrast": 0.3, "noise": 0.05})
    zoom = layer.stages[1]
    assert zoom.height_factor == (0.0, 0.3) and zoom.fill_mode == "constant"
    blur = layer.stages[2]
    assert (blur.kernel_size, blur.sigma, blur.rate) == (4, 0.5, 0.5)
    assert RankingAugmentation(0).stages == []


def test_zoom_out_fills_black_borders():
    white = tf.ones((8, 32, 32, 3))
    zoom = keras.layers.RandomZoom(height_factor=(0.3, 0.3), fill_mode="constant")
    out = zoom(white, training=True).numpy()
    assert np.allclose(out[:, 0, 0, :], 0.0) and np.allclose(out[:, 16, 16, :], 1.0)


def test_bad_arguments_name_the_value():
    with pytest.raises(ValueError, match="sigma=0"):
        ReflectGaussianBlur(4, 0)
    with pytest.raises(ValueError, match="intensity=-1"):
        UniformNoise(-1)
    with pytest.raises(ValueError, match="factor=-2"):
        RankingAugmentation(-2)
