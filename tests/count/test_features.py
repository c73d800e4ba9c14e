"""Feature extraction of a count set: same decoding and scaling as pre-training, order kept."""

import numpy as np
import pytest
import tensorflow as tf

from syrac.common.annotations import load_count_set
from syrac.common.errors import SyracError
from syrac.common.images import decode_image
from syrac.count.features import extract_features
from syrac.fixtures import make_count_set
from syrac.rank.input_scaling import InputScaling

SHAPE = [32, 48, 3]


def mean_colour(images):
    """A stand-in encoder with 6 features: each channel's mean and maximum."""
    return tf.concat(
        [tf.reduce_mean(images, axis=[1, 2]), tf.reduce_max(images, axis=[1, 2])], axis=-1
    )


@pytest.fixture(scope="module")
def items(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("data")
    make_count_set(str(data_dir), name="synth", images=7)
    return load_count_set(str(data_dir), "synth")


@pytest.mark.parametrize("mode", ["resnet_v2", "caffe"])
@pytest.mark.parametrize("batch_size", [3, 10])
def test_features_match_decoding_scaling_and_encoding_each_image(items, mode, batch_size):
    paths = [path for path, _ in items]
    features = extract_features(mean_colour, paths, SHAPE, batch_size, mode, progress=False)
    scaling = InputScaling(mode)
    expected = np.concatenate(
        [mean_colour(scaling(decode_image(path, SHAPE[:2])[tf.newaxis])) for path in paths]
    )
    assert features.shape == (7, 6)
    np.testing.assert_allclose(features, expected, atol=1e-5)


def test_undecodable_file_is_named(items, tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff" + b"this is not a jpeg" * 10)
    paths = [path for path, _ in items[:2]] + [str(bad)]
    with pytest.raises(SyracError, match=r"1 image file\(s\) cannot be decoded: .*bad.jpg"):
        extract_features(mean_colour, paths, SHAPE, 2, progress=False)


def test_bad_batch_size_is_refused(items):
    with pytest.raises(ValueError, match="batch_size=0"):
        extract_features(mean_colour, [items[0][0]], SHAPE, 0, progress=False)
