"""The input scaling applied between augmentation and the encoder.

The authors clip to [0, 1], multiply by 255 and apply ResNet *v2* scaling (to [-1, 1]) even though
their ResNet50 weights are v1: the paper's numbers come from that, so ``resnet_v2`` is the
default. ``caffe`` is the scaling ResNet50 v1 and VGG16 were trained with (RGB to BGR, minus the
ImageNet channel means).
"""

import keras
import tensorflow as tf

from syrac.common.config import PREPROCESSING_MODES

_CAFFE_BGR_MEANS = (103.939, 116.779, 123.68)


@keras.saving.register_keras_serializable(package="syrac")
class InputScaling(keras.layers.Layer):
    """Map [0, 1] RGB images to the encoder's input range.

    Args:
        mode: ``"resnet_v2"`` (the authors' choice, output in [-1, 1]) or ``"caffe"``
            (BGR, mean-subtracted, as ``keras.applications.resnet50.preprocess_input``).

    Example:
        >>> InputScaling("resnet_v2")(tf.ones((1, 2, 2, 3)))[0, 0, 0]  # -> [1., 1., 1.]
    """

    def __init__(self, mode="resnet_v2", **kwargs):
        super().__init__(**kwargs)
        if mode not in PREPROCESSING_MODES:
            raise ValueError(
                f"mode must be one of {list(PREPROCESSING_MODES)}. Received: mode={mode!r}"
            )
        self.mode = mode

    def call(self, images):
        pixels = 255.0 * tf.clip_by_value(images, 0.0, 1.0)
        if self.mode == "resnet_v2":
            return pixels / 127.5 - 1.0
        bgr = pixels[..., ::-1]
        return bgr - tf.constant(_CAFFE_BGR_MEANS, dtype=bgr.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"mode": self.mode})
        return config
