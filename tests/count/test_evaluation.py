"""Patch-wise evaluation: each image's count is the sum of its patches' probe predictions."""

import numpy as np
import pytest
import tensorflow as tf

from syrac.common.annotations import load_count_set
from syrac.common.images import decode_image
from syrac.count.evaluation import evaluate_patchwise
from syrac.count.probe import CountProbe
from syrac.fixtures import make_count_set
from syrac.rank.input_scaling import InputScaling

SHAPE = [33, 47, 3]


def channel_means(images):
    """A stand-in encoder with 3 features: the mean of each channel, shifted to be positive."""
    return tf.reduce_mean(images, axis=[1, 2]) + 2.0


@pytest.fixture(scope="module")
def items(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("data")
    make_count_set(str(data_dir), name="bench", images=3, split="test")
    return load_count_set(str(data_dir), "bench", split="test")


@pytest.mark.parametrize("n, batch_size", [(1, 2), (2, 3), (3, 4), (4, 64)])
def test_patch_predictions_and_sums(items, n, batch_size):
    probe = CountProbe(weights=[1.0, 2.0, 0.5])
    result = evaluate_patchwise(
        channel_means, probe, items, SHAPE, n, batch_size=batch_size, preprocessing="resnet_v2",
        progress=False
    )
    scaling = InputScaling("resnet_v2")
    patch_height, patch_width = SHAPE[0] // n, SHAPE[1] // n
    for index, (path, count) in enumerate(items):
        image = decode_image(path, SHAPE[:2])
        expected = []
        for row in range(n):
            for col in range(n):
                crop = image[
                    row * patch_height : (row + 1) * patch_height,
                    col * patch_width : (col + 1) * patch_width,
                ]
                patch = tf.image.resize(crop, SHAPE[:2], method="bilinear")
                expected.append(probe.predict(channel_means(scaling(patch[tf.newaxis])))[0])
        np.testing.assert_allclose(result.patch_predictions[index], expected, rtol=1e-5)
        assert result.predictions[index] == pytest.approx(sum(expected), rel=1e-5)
        assert result.counts[index] == count
        assert result.image_paths[index] == path
    assert result.patch_predictions.shape == (3, n * n)
    assert result.n == n


def test_every_grid_from_one_decoding_equals_each_grid_alone(items):
    from syrac.count.evaluation import evaluate_patchwise_grids

    probe = CountProbe(weights=[1.0, 2.0, 0.5])
    decoded = []

    def counting_encoder(images):
        decoded.append(int(images.shape[0]))
        return channel_means(images)

    together = evaluate_patchwise_grids(counting_encoder, probe, items, SHAPE, [1, 2, 3],
                                        batch_size=7, progress=False)
    assert sum(decoded) == len(items) * (1 + 4 + 9)  # every patch of every grid encoded once
    for n in (1, 2, 3):
        alone = evaluate_patchwise(channel_means, probe, items, SHAPE, n, batch_size=5,
                                   progress=False)
        np.testing.assert_allclose(together[n].patch_predictions, alone.patch_predictions,
                                   rtol=1e-6)
        np.testing.assert_allclose(together[n].predictions, alone.predictions, rtol=1e-6)
    with pytest.raises(ValueError, match="distinct"):
        evaluate_patchwise_grids(channel_means, probe, items, SHAPE, [2, 2], batch_size=4,
                                 progress=False)
