"""Every Keras layer and model the project registers survives a ``.keras`` round trip.

Checked the way keras-hub checks its own: ``get_config()`` names every constructor argument,
and the object saved inside a model and loaded back gives the same outputs in inference *and*
in a seeded ``training=True`` call (inference is the identity for every augmentation layer, so
a constructor argument left out of the config would pass an inference-only comparison). The
factories below set every argument away from its default. A class registered under the
``syrac`` package without a factory here fails :func:`test_every_registered_class_has_a_factory`.
"""

import inspect
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
    "ReflectGaussianBlur": lambda: ReflectGaussianBlur(4, 0.25, rate=0.7, seed=5),
    "RandomColourAffine": lambda: RandomColourAffine(0.1, 0.02, seed=5),
    "UniformNoise": lambda: UniformNoise(0.03, seed=5),
    "BatchContrast": lambda: BatchContrast(0.2, clip_max=10.0, seed=5),
    "RankingAugmentation": lambda: RankingAugmentation(
        4, blur_kernel_size=5, blur_rate=0.9, contrast_draw="per_image", seed=5),
    "InputScaling": lambda: InputScaling("caffe"),
    "ZoomOut": lambda: ZoomOut(height_factor=(-0.3, -0.1), fill_mode="constant", seed=5),
}


def _ranker():
    encoder = build_encoder("resnet50", SHAPE, None)
    return SiameseRanker(encoder, build_rank_decoder(2048, num_layers=1, num_neurons=4),
                         augmentation=RankingAugmentation(2, seed=7),
                         input_scaling=InputScaling("caffe"))


def _counter():
    from syrac.count.counter import PatchCounter

    weights = np.random.default_rng(0).uniform(0, 0.01, 2048)
    return PatchCounter(build_encoder("resnet50", SHAPE, None), n=2, image_shape=SHAPE,
                        preprocessing="caffe", head_weights=weights)


MODEL_FACTORIES = {"SiameseRanker": _ranker, "PatchCounter": _counter}


def constructor_arguments(cls):
    """The named arguments of ``cls``'s constructor (of the first class in its MRO that names
    them, for a constructor that only passes ``*args, **kwargs`` on)."""
    for klass in cls.__mro__:
        parameters = inspect.signature(klass.__init__).parameters.values()
        names = [p.name for p in parameters if p.name != "self"
                 and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        if names:
            return names
    return []


# Constructor arguments that are weights, saved with the weights rather than in the config
# (the outputs compared below check them).
WEIGHT_ARGUMENTS = {"head_weights"}


def _assert_same(expected, actual):
    for want, got in zip(tf.nest.flatten(expected), tf.nest.flatten(actual), strict=True):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)


def assert_keras_round_trip(obj, inputs, folder):
    """Save ``obj`` (a layer, inside a model; or a model) as .keras, load it, compare its
    config and its outputs, in inference and in one seeded training call."""
    missing = [name for name in constructor_arguments(type(obj))
               if name not in obj.get_config() and name not in WEIGHT_ARGUMENTS]
    assert missing == [], f"{type(obj).__name__}.get_config() leaves out {missing}"
    if isinstance(obj, keras.Model):
        model = obj
        model(inputs)
    else:
        model = keras.Sequential([keras.Input(SHAPE), obj])
    path = folder / f"{type(obj).__name__}.keras"
    model.save(path)  # before any random draw: both generators start from the saved state
    restored = keras.models.load_model(path)
    twin = restored if isinstance(obj, keras.Model) else restored.layers[0]
    assert type(twin) is type(obj)
    as_saved = json.loads(json.dumps(obj.get_config()))  # tuples are saved as lists
    assert json.loads(json.dumps(twin.get_config())) == as_saved
    _assert_same(model(inputs, training=True), restored(inputs, training=True))
    _assert_same(model(inputs, training=False), restored(inputs, training=False))


def test_every_registered_class_has_a_factory():
    registered = {name.split(">", 1)[1] for name in keras.saving.get_custom_objects()
                  if name.startswith("syrac>")}
    assert registered == set(LAYER_FACTORIES) | set(MODEL_FACTORIES)


@pytest.mark.parametrize("name", sorted(LAYER_FACTORIES))
def test_layer_round_trip(name, tmp_path):
    assert_keras_round_trip(LAYER_FACTORIES[name](), IMAGES, tmp_path)


MODEL_INPUTS = {"SiameseRanker": (IMAGES, IMAGES[::-1]), "PatchCounter": IMAGES}


@pytest.mark.slow  # two full ResNet50 encoders
@pytest.mark.parametrize("name", sorted(MODEL_FACTORIES))
def test_model_round_trip(name, tmp_path):
    assert_keras_round_trip(MODEL_FACTORIES[name](), MODEL_INPUTS[name], tmp_path)
