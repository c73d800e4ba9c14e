"""What each augmentation stage draws per call, per image or per pixel, and where it clips.

These tests check the table in ``syrac/rank/augmentation.py``'s docstring against the whole stack, run
many times: the authors' Keras 2 contrast draws one factor per call and lets values above 1
through to the noise stage, Keras 3's draws one per image and clips at once.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from syrac.rank.augmentation import BatchContrast, RankingAugmentation

BATCH, HEIGHT, WIDTH = 8, 16, 20
CALLS = 120
CONTRAST_HALF_WIDTH = 0.3  # 0.6 / f with f = 2


def _identical_batch(seed=0, low=0.35, high=0.65):
    """``BATCH`` copies of one mid-grey textured image (no stage clips it by chance)."""
    image = np.random.default_rng(seed).uniform(low, high, (1, HEIGHT, WIDTH, 3))
    return tf.constant(np.repeat(image, BATCH, axis=0), tf.float32)


def _contrast_factors(before, after):
    """Per-image contrast factor: the slope of ``after`` on ``before`` over unclipped pixels.

    Contrast maps each channel as ``y = c x + (1 - c) mean``, so the slope is ``c`` whatever
    the channel mean; pixels clipped at 0 (zoom's black fill, darkened) are left out.
    """
    before, after = np.asarray(before, np.float64), np.asarray(after, np.float64)
    factors = []
    for x_image, y_image in zip(before, after):
        slopes = []
        for channel in range(3):
            x, y = x_image[..., channel].ravel(), y_image[..., channel].ravel()
            kept = y > 1e-6
            slopes.append(np.polyfit(x[kept], y[kept], 1)[0])
        factors.append(np.mean(slopes))
    return np.array(factors)


@pytest.fixture(scope="module")
def stack_draws():
    """Every stage's output of the full stack (f = 2) over ``CALLS`` calls, for both contrasts."""
    draws = {}
    images = _identical_batch()
    for contrast_draw in ("per_call", "per_image"):
        keras.utils.set_random_seed(7)
        stack = RankingAugmentation(2, contrast_draw=contrast_draw)
        calls = [dict(stack.stage_outputs(images)) for _ in range(CALLS)]
        draws[contrast_draw] = {
            name: np.stack([call[name].numpy() for call in calls]) for name in calls[0]
        }
    draws["input"] = images.numpy()
    return draws


def test_identical_images_get_identical_contrast_by_default():
    images = _identical_batch()
    keras.utils.set_random_seed(1)
    out = BatchContrast(0.3)(images, training=True).numpy()
    np.testing.assert_array_equal(out, np.repeat(out[:1], BATCH, axis=0))
    assert np.abs(out - images.numpy()).max() > 1e-3
    per_image = RankingAugmentation(2, contrast_draw="per_image").stages[4]
    assert per_image.name == "contrast"
    out = per_image(images, training=True).numpy()
    assert np.abs(out - out[:1]).max() > 1e-3  # Keras 3: each image its own factor


def test_contrast_is_the_authors_tf_image_adjust_contrast_with_one_factor():
    images = tf.random.stateless_uniform((4, HEIGHT, WIDTH, 3), seed=(3, 4))
    keras.utils.set_random_seed(2)
    out = BatchContrast(0.3)(images, training=True).numpy()
    factor = _contrast_factors(images, out)[0]
    assert 0.7 <= factor <= 1.3
    means = images.numpy().mean(axis=(1, 2), keepdims=True)  # per image and channel
    expected = np.clip((images.numpy() - means) * factor + means, 0.0, 255.0)
    np.testing.assert_allclose(out, expected, atol=1e-5)


def _two_tone_batch():
    """Half 0.95, half 0.3: channel mean 0.625, so a contrast factor above 1.16 passes 1."""
    images = np.full((BATCH, HEIGHT, WIDTH, 3), 0.3, np.float32)
    images[:, :, : WIDTH // 2] = 0.95
    return tf.constant(images)


def test_values_above_one_survive_until_the_noise_clip():
    images = _two_tone_batch()
    for contrast_draw, highest_contrast in (("per_call", None), ("per_image", 1.0)):
        keras.utils.set_random_seed(5)
        stack = RankingAugmentation(2, contrast_draw=contrast_draw)
        calls = [dict(stack.stage_outputs(images)) for _ in range(40)]
        contrast = np.stack([call["contrast"].numpy() for call in calls])
        noise = np.stack([call["noise"].numpy() for call in calls])
        assert noise.min() >= 0.0 and noise.max() <= 1.0
        assert contrast.min() >= 0.0  # the lower clip acts in both
        if highest_contrast is None:
            assert contrast.max() > 1.02  # the authors': no upper clip before the noise
            assert (noise == 1.0).any()
        else:
            assert contrast.max() <= highest_contrast  # Keras 3 clips at once


def test_contrast_layer_alone_lets_values_pass_one():
    keras.utils.set_random_seed(3)
    layer = BatchContrast(0.3)
    images = _two_tone_batch()
    highest = max(float(tf.reduce_max(layer(images, training=True))) for _ in range(40))
    assert highest > 1.0


def test_contrast_spread_within_and_across_calls(stack_draws):
    """The authors': one U(0.7, 1.3) factor per call. Keras 3's: one U(1, 1.3) per image."""
    ranges = {"per_call": (1 - CONTRAST_HALF_WIDTH, 1 + CONTRAST_HALF_WIDTH),
              "per_image": (1.0, 1 + CONTRAST_HALF_WIDTH)}
    for contrast_draw, (low, high) in ranges.items():
        draws = stack_draws[contrast_draw]
        factors = np.stack([
            _contrast_factors(before, after)
            for before, after in zip(draws["colour_affine"], draws["contrast"])
        ])  # (calls, images)
        uniform_spread = (high - low) / np.sqrt(12)
        assert factors.min() >= low - 1e-3 and factors.max() <= high + 1e-3
        within = factors.std(axis=1).mean()
        if contrast_draw == "per_call":
            assert within < 1e-4
            overall = factors[:, 0]
        else:
            # The mean standard deviation of 8 draws is about 0.9 times the spread.
            assert within == pytest.approx(0.9 * uniform_spread, rel=0.2)
            overall = factors.ravel()
        assert overall.mean() == pytest.approx((low + high) / 2, abs=0.04)
        assert overall.std() == pytest.approx(uniform_spread, rel=0.2)


def test_flip_is_drawn_per_image_with_probability_one_half(stack_draws):
    source = stack_draws["input"][0]
    flipped = stack_draws["per_call"]["flip"]
    is_flipped = np.all(np.isclose(flipped, source[:, ::-1]), axis=(2, 3, 4))
    is_kept = np.all(np.isclose(flipped, source), axis=(2, 3, 4))
    assert np.all(is_flipped ^ is_kept)
    assert is_flipped.mean() == pytest.approx(0.5, abs=0.06)
    mixed_calls = np.mean([0 < row.sum() < BATCH for row in is_flipped])
    assert mixed_calls > 0.9  # per call, it would be 0


def test_zoom_is_out_only_per_image_with_black_fill(stack_draws):
    zoomed = stack_draws["per_call"]["zoom_out"]
    black_rows = np.all(zoomed == 0.0, axis=(3, 4)).sum(axis=2)  # (calls, images)
    # A zoom-out by z shows the image on 1 / (1 + z) of the height, z <= 0.3: at most
    # about 23% of the rows are black fill, and none for z near 0.
    assert black_rows.max() <= np.ceil(HEIGHT * (1 - 1 / 1.3)) + 1
    assert (black_rows > 0).mean() > 0.5
    assert np.mean([len(set(row)) > 1 for row in black_rows]) > 0.5  # differs within a call
    assert zoomed.min() == 0.0 and zoomed[:, :, HEIGHT // 2, WIDTH // 2].min() > 0.3


def test_blur_is_one_coin_per_call(stack_draws):
    draws = stack_draws["per_call"]
    changed = np.abs(draws["blur"] - draws["zoom_out"]).max(axis=(2, 3, 4)) > 1e-6
    assert np.all(changed.all(axis=1) | ~changed.any(axis=1))  # all of a call, or none
    assert changed[:, 0].mean() == pytest.approx(0.5, abs=0.12)


def test_colour_affine_is_per_image_and_clipped(stack_draws):
    draws = stack_draws["per_call"]
    after = draws["colour_affine"]
    assert after.min() >= 0.0 and after.max() <= 1.0
    # Identical inputs within a call (up to flip and zoom) leave with different colours.
    centre = after[:, :, HEIGHT // 2 - 2: HEIGHT // 2 + 2, WIDTH // 2 - 2: WIDTH // 2 + 2]
    means = centre.mean(axis=(2, 3))  # (calls, images, channels)
    assert np.mean(means.std(axis=1).max(axis=1) > 1e-3) > 0.95


def test_noise_is_per_pixel_uniform(stack_draws):
    draws = stack_draws["per_call"]
    before, after = draws["contrast"], draws["noise"]
    inside = (before > 0.06) & (before < 0.94)  # never clipped by a +-0.05 noise
    noise = (after - before)[inside]
    assert np.abs(noise).max() <= 0.05 + 1e-6
    assert noise.std() == pytest.approx(0.05 / np.sqrt(3), rel=0.05)
    assert noise.mean() == pytest.approx(0.0, abs=2e-3)
    one_image = (after - before)[0, 0]
    assert len(np.unique(np.round(one_image, 6))) > one_image.size // 2


def test_contrast_draw_is_saved_and_checked(tmp_path):
    layer = RankingAugmentation(2, contrast_draw="per_image")
    model = keras.Sequential([keras.Input((HEIGHT, WIDTH, 3)), layer])
    model.save(tmp_path / "stack.keras")
    restored = keras.models.load_model(tmp_path / "stack.keras").layers[0]
    assert restored.contrast_draw == "per_image"
    assert isinstance(RankingAugmentation(2).stages[4], BatchContrast)
    with pytest.raises(ValueError, match="contrast_draw='per_pixel'"):
        RankingAugmentation(2, contrast_draw="per_pixel")
    with pytest.raises(ValueError, match="factor=1.5"):
        BatchContrast(1.5)


def _keras2_zoom(images, zooms):
    """Keras 2.8's ``RandomZoom`` transform for given per-image zoom factors (zx = zy = z).

    Its ``get_zoom_matrix`` and ``transform``: offsets ``(size - 1) / 2 * (1 - z)``, bilinear
    ``ImageProjectiveTransformV3``, constant fill 0.
    """
    height, width = images.shape[1], images.shape[2]
    z = tf.reshape(tf.cast(zooms, tf.float32), [-1, 1])
    zeros = tf.zeros_like(z)
    matrix = tf.concat([z, zeros, (width - 1.0) / 2.0 * (1.0 - z), zeros, z,
                        (height - 1.0) / 2.0 * (1.0 - z), zeros, zeros], axis=1)
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=matrix, output_shape=[height, width],
        fill_value=0.0, interpolation="BILINEAR", fill_mode="CONSTANT")


def test_zoom_stage_equals_keras2_zoom_for_the_same_draws():
    images = tf.random.stateless_uniform((BATCH, HEIGHT, WIDTH, 3), seed=(5, 6))
    zoom = RankingAugmentation(2).stages[1]
    keras.utils.set_random_seed(4)
    transformation = zoom.get_random_transformation(images, training=True)
    drawn = transformation["height_zoom"]
    assert transformation["width_zoom"] is drawn  # one factor for both axes: aspect kept
    assert float(tf.reduce_min(drawn)) >= 1.0 and float(tf.reduce_max(drawn)) <= 1.3
    ours = zoom.transform_images(images, transformation, training=True)
    np.testing.assert_allclose(ours.numpy(), _keras2_zoom(images, drawn).numpy(), atol=1e-6)


def test_jittable_zoom_equals_keras_random_zoom_for_the_same_draws():
    from syrac.rank.augmentation import ZoomOut

    images = tf.random.stateless_uniform((BATCH, HEIGHT, WIDTH, 3), seed=(8, 9))
    ours = ZoomOut(height_factor=(0.0, 0.3), fill_mode="constant", seed=11)
    keras_zoom = keras.layers.RandomZoom(height_factor=(0.0, 0.3), fill_mode="constant", seed=11)
    transformation = ours.get_random_transformation(images, training=True)
    np.testing.assert_allclose(
        ours.transform_images(images, transformation).numpy(),
        keras_zoom.transform_images(images, transformation).numpy(), atol=2e-6)
    # Same seed, same draws: a whole call gives RandomZoom's images.
    fresh_ours = ZoomOut(height_factor=(0.0, 0.3), fill_mode="constant", seed=12)
    fresh_keras = keras.layers.RandomZoom(height_factor=(0.0, 0.3), fill_mode="constant", seed=12)
    np.testing.assert_allclose(fresh_ours(images, training=True).numpy(),
                               fresh_keras(images, training=True).numpy(), atol=2e-6)
    compiled = tf.function(lambda x: ours(x, training=True), jit_compile=True)
    out = compiled(images).numpy()
    assert out.shape == images.shape and out.min() >= 0.0 and (out == 0.0).any()
