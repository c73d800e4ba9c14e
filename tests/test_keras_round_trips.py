"""Every Keras layer and model the project registers survives a ``.keras`` round trip.

One helper, keras-hub style: build the object, save it inside a model, load it back, and compare
the configuration and the outputs. A class registered under the ``syrac`` package without a
factory here fails :func:`test_every_registered_class_has_a_factory`.
"""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

import syrac.count.counter  # noqa: F401 (registers every syrac class)
import syrac.rank.augmentation  # noqa: F401
import syrac.rank.input_scaling  # noqa: F401
import syrac.rank.ranking_model  # noqa: F401
from syrac.rank.augmentation import (
    BatchContrast,
    RandomColourAffine,
    RankingAugmentation,
    ReflectGaussianBlur,
    UniformNoise,
    ZoomOut,
)
from syrac.rank.backbones import build_encoder
from syrac.rank.input_scaling import InputScaling
from syrac.rank.ranking_model import SiameseRanker, build_rank_decoder

SHAPE = (32, 40, 3)
IMAGES = tf.random.stateless_uniform((2, *SHAPE), seed=(3, 1))

LAYER_FACTORIES = {
    "ReflectGaussianBlur": lambda: ReflectGaussianBlur(4, 0.25, rate=0.3),
    "RandomColourAffine": lambda: RandomColourAffine(0.1, 0.02),
    "UniformNoise": lambda: UniformNoise(0.03),
    "BatchContrast": lambda: BatchContrast(0.2, clip_max=10.0),
    "RankingAugmentation": lambda: RankingAugmentation(
        4, blur_kernel_size=5, blur_rate=0.2, contrast_draw="per_image"),
    "InputScaling": lambda: InputScaling("caffe"),
    "ZoomOut": lambda: ZoomOut(height_factor=(0.0, 0.2), fill_mode="constant"),
}


def _ranker():
    encoder = build_encoder("resnet50", SHAPE, None)
    return SiameseRanker(encoder, build_rank_decoder(2048, num_layers=1, num_neurons=4),
                         augmentation=RankingAugmentation(2), input_scaling=InputScaling("caffe"))


def _counter():
    from syrac.count.counter import PatchCounter

    weights = np.random.default_rng(0).uniform(0, 0.01, 2048)
    return PatchCounter(build_encoder("resnet50", SHAPE, None), n=2, image_shape=SHAPE,
                        preprocessing="caffe", head_weights=weights)


MODEL_FACTORIES = {"SiameseRanker": _ranker, "PatchCounter": _counter}


def assert_keras_round_trip(obj, inputs, folder):
    """Save ``obj`` (a layer, inside a model; or a model) as .keras, load it, compare."""
    if isinstance(obj, keras.Model):
        model = obj
        model(inputs)
    else:
        model = keras.Sequential([keras.Input(SHAPE), obj])
    path = folder / f"{type(obj).__name__}.keras"
    model.save(path)
    restored = keras.models.load_model(path)
    twin = restored if isinstance(obj, keras.Model) else restored.layers[0]
    assert type(twin) is type(obj)
    as_saved = json.loads(json.dumps(obj.get_config()))  # tuples are saved as lists
    assert json.loads(json.dumps(twin.get_config())) == as_saved
    expected, actual = model(inputs, training=False), restored(inputs, training=False)
    for want, got in zip(tf.nest.flatten(expected), tf.nest.flatten(actual)):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)


def test_every_registered_class_has_a_factory():
    registered = {name.split(">", 1)[1] for name in keras.saving.get_custom_objects()
                  if name.startswith("syrac>")}
    assert registered == set(LAYER_FACTORIES) | set(MODEL_FACTORIES)


@pytest.mark.parametrize("name", sorted(LAYER_FACTORIES))
def test_layer_round_trip(name, tmp_path):
    assert_keras_round_trip(LAYER_FACTORIES[name](), IMAGES, tmp_path)


MODEL_INPUTS = {"SiameseRanker": (IMAGES, IMAGES[::-1]), "PatchCounter": IMAGES}


@pytest.mark.parametrize("name", sorted(MODEL_FACTORIES))
def test_model_round_trip(name, tmp_path):
    assert_keras_round_trip(MODEL_FACTORIES[name](), MODEL_INPUTS[name], tmp_path)
