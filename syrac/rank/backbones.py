"""The feature encoder: an ImageNet backbone topped with global average pooling.

``resnet50`` gives 2048-d features, ``vgg16`` 512-d, as in the authors' ``get_encoder``;
``tiny_cnn`` is a two-stage network with 16-d features for tests and smoke runs (keras-hub's
practice: a network that builds and trains in a second, so that a test runs the real pipeline
without paying for ResNet50; it is not part of the method). Weights are
``"imagenet"`` (downloaded by Keras on first use, which needs internet), ``None`` (random), or a
local ``.h5`` / ``.weights.h5`` file holding the backbone's weights (for offline machines: fetch
``resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5`` once and point ``weights`` at it).
"""

import os

import keras

from syrac.common.config import MODEL_NAMES
from syrac.common.errors import SyracError

TINY_CNN_WIDTHS = (8, 16)


def tiny_cnn(include_top=False, weights=None, input_shape=(32, 48, 3)):
    """A two-stage convolutional network with batch normalisation (16 output channels).

    Each stage is a strided 3x3 convolution, batch normalisation and ReLU, so that the
    siamese ranker's shared batch statistics, mixed precision and synchronized batch norm are
    exercised as they are in ResNet50. Its signature is that of ``keras.applications``
    (``include_top`` must be False); ``weights`` is None or a local weights file.
    """
    if include_top:
        raise SyracError("tiny_cnn has no classification top. Received: include_top=True")
    if weights == "imagenet":
        raise SyracError("tiny_cnn has no ImageNet weights (it is a network for tests). "
                         "Received: weights='imagenet'")
    inputs = keras.Input(shape=tuple(input_shape), name="input_layer")
    x = inputs
    for stage, width in enumerate(TINY_CNN_WIDTHS, start=1):
        x = keras.layers.Conv2D(width, 3, strides=2, padding="same", use_bias=False,
                                name=f"stage{stage}_conv")(x)
        x = keras.layers.BatchNormalization(name=f"stage{stage}_bn")(x)
        x = keras.layers.Activation("relu", name=f"stage{stage}_relu")(x)
    model = keras.Model(inputs, x, name="tiny_cnn")
    if weights is not None:
        model.load_weights(weights)
    return model


_BACKBONES = {
    "resnet50": keras.applications.ResNet50,
    "vgg16": keras.applications.VGG16,
    "tiny_cnn": tiny_cnn,
}


def _check_weights(weights):
    if weights in (None, "imagenet"):
        return
    if not os.path.isfile(weights):
        raise SyracError(
            f"weights: no such file {weights!r} (expected 'imagenet', null, or a local "
            ".h5 weights file)"
        )
    if not weights.endswith(".h5"):
        raise SyracError(
            f"weights: {weights!r} is not an .h5 weights file (Keras reads backbone weights "
            "from .h5 or .weights.h5)"
        )


def build_encoder(model_name="resnet50", input_shape=(640, 853, 3), weights="imagenet"):
    """Build the encoder as a functional Keras model named ``encoder``.

    Args:
        model_name: ``"resnet50"``, ``"vgg16"`` or ``"tiny_cnn"`` (tests and smoke runs).
        input_shape: ``(height, width, 3)``.
        weights: ``"imagenet"``, ``None`` or the path of a local ``.h5`` weights file.

    Returns:
        A ``keras.Model`` mapping (B, H, W, 3) preprocessed images to (B, D) features.
    """
    if model_name not in _BACKBONES:
        raise SyracError(
            f"model_name must be one of {list(MODEL_NAMES)}. Received: model_name={model_name!r}"
        )
    _check_weights(weights)
    try:
        backbone = _BACKBONES[model_name](
            include_top=False, weights=weights, input_shape=tuple(input_shape)
        )
    except SyracError:
        raise
    except Exception as error:  # Keras raises plain Exception for a failed download.
        if weights == "imagenet" and "fetch" in str(error).lower():
            raise SyracError(
                f"could not download the ImageNet weights of {model_name} ({error}). "
                "On an offline machine, fetch the no-top .h5 weights file from the Keras "
                "applications release page and set weights: /path/to/file.h5 "
                "(e.g. --set weights=/path/to/file.h5)"
            ) from None
        if isinstance(weights, str) and weights != "imagenet":
            raise SyracError(
                f"weights: cannot load {weights!r} into {model_name}: {error}"
            ) from None
        raise
    features = keras.layers.GlobalAveragePooling2D(name="avg_pool_features")(
        backbone.output
    )
    return keras.Model(backbone.input, features, name="encoder")
