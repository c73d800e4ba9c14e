"""One Keras model that counts: input scaling, encoder, the non-negative head and the N x N grid.

:class:`PatchCounter` maps a batch of [0, 1] RGB images of any size to their counts exactly as
the Count step does (docs/DESIGN.md §4): each image is resized (bilinear, aspect not kept) to
the input shape, cut into an N x N grid, every patch is resized back to the input shape, scaled,
encoded, and counted by the linear head with non-negative weights and no intercept; the image's
count is the sum. It saves as one ``.keras`` file (:meth:`~keras.Model.save`) that
``keras.models.load_model`` reads once ``syrac`` is imported, and :func:`export_saved_model`
writes a TF SavedModel whose serving signature takes encoded image bytes.

:func:`counter_from_model` builds one from what a user has: an exported counter, or a
pre-training checkpoint with the probe fitted for it (the ``noisy_synth_regression/`` folder
beside it).
"""

import os
import warnings

import keras
import numpy as np
import tensorflow as tf

import syrac.rank.input_scaling  # noqa: F401 (registers InputScaling for loading)
from syrac.common.errors import SyracError, first_line
from syrac.count.patches import check_grid, image_counts, patchify
from syrac.count.probe_folder import ProbeFolder
from syrac.rank.input_scaling import InputScaling


@keras.saving.register_keras_serializable(package="syrac")
class PatchCounter(keras.Model):
    """Counts people in [0, 1] images: ``{"count": (B,), "patch_counts": (B, N * N)}``.

    Args:
        encoder: the frozen encoder, a ``keras.Model`` from scaled images to ``(B, D)`` features.
        n: patches per side.
        image_shape: ``[H, W, 3]``: images are resized to it, and so is every patch.
        preprocessing: input scaling of the encoder (``"resnet_v2"`` or ``"caffe"``).
        head_weights: the probe's ``(D,)`` non-negative weights (``None`` when loading).
    """

    def __init__(self, encoder, n=1, image_shape=(640, 853, 3), preprocessing="resnet_v2",
                 head_weights=None, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.encoder.trainable = False
        self.image_shape = [int(side) for side in image_shape]
        self.n = check_grid(n, self.image_shape[0], self.image_shape[1])
        self.preprocessing = preprocessing
        self.scaling = InputScaling(preprocessing, name="input_scaling")
        feature_dim = int(encoder.output_shape[-1])
        self.head = keras.layers.Dense(1, use_bias=False,
                                       kernel_constraint=keras.constraints.NonNeg(),
                                       dtype="float32", name="count_head")
        self.head.build((None, feature_dim))
        if head_weights is not None:
            weights = np.asarray(head_weights, np.float32).reshape(-1, 1)
            if weights.shape[0] != feature_dim or (weights < 0).any():
                raise SyracError(f"the count head needs {feature_dim} non-negative weights. "
                                 f"Received: {weights.shape[0]} (min {weights.min():.3g})")
            self.head.kernel.assign(weights)

    def _at_input_size(self, images):
        height, width = self.image_shape[0], self.image_shape[1]
        images = tf.image.resize(tf.cast(images, tf.float32), [height, width], method="bilinear")
        return tf.clip_by_value(images, 0.0, 1.0)  # as decode_image does after its resize

    def count_windows(self, image, boxes, batch_size=8):
        """The count of each ``(top, left, height, width)`` window of one [0, 1] image at the
        input size, each window resized to the input size as a grid patch is; ``(len(boxes),)``.
        """
        height, width = self.image_shape[0], self.image_shape[1]
        resized = self._at_input_size(tf.convert_to_tensor(image)[tf.newaxis])[0]
        counts = []
        for start in range(0, len(boxes), batch_size):
            crops = [resized[top:top + h, left:left + w]
                     for top, left, h, w in boxes[start:start + batch_size]]
            crops = tf.image.resize(tf.stack(crops), [height, width], method="bilinear")
            features = self.encoder(self.scaling(crops), training=False)
            counts.append(np.asarray(self.head(features)).reshape(-1))
        return np.concatenate(counts)

    def call(self, images):
        images = self._at_input_size(images)
        patches = patchify(images, self.n)
        features = self.encoder(self.scaling(patches), training=False)
        counts, patch_counts = image_counts(self.head(features), self.n)
        return {"count": counts, "patch_counts": patch_counts}

    def get_config(self):
        config = super().get_config()
        config.update({"encoder": keras.saving.serialize_keras_object(self.encoder),
                       "n": self.n, "image_shape": self.image_shape,
                       "preprocessing": self.preprocessing})
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["encoder"] = keras.saving.deserialize_keras_object(config["encoder"])
        return cls(**config)


def _probe_of(checkpoint):
    folder = ProbeFolder.of_checkpoint(checkpoint)
    if not os.path.isdir(folder.probe_path):
        raise SyracError(
            f"{checkpoint}: no count probe fitted for this encoder ({folder.probe_path} does "
            "not exist); fit one with finetune_wrapper.py (--stage fit) first"
        )
    return folder.load_probe()


def load_counter(path):
    """An exported counter (``.keras``), or ``None`` if ``path`` holds another kind of model."""
    if not (os.path.isfile(path) and path.endswith(".keras")):
        return None
    try:
        model = keras.models.load_model(path, compile=False)
    except Exception:  # noqa: BLE001 (not a counter: the caller tries it as an encoder)
        return None
    return model if isinstance(model, PatchCounter) else None


def counter_from_model(path, n=None):
    """A :class:`PatchCounter` for ``--model PATH``: an exported counter, or a ``.keras``
    pre-training checkpoint with its fitted probe, at ``n`` patches per side."""
    if not os.path.exists(path):
        raise SyracError(f"--model {path}: no such file or folder")
    counter = load_counter(path)
    if counter is not None:
        if n is not None and n != counter.n:
            raise SyracError(f"--model {path} is a counter exported for N={counter.n}; "
                             f"--N {n} would need another export (or leave --N out)")
        return counter
    from syrac.count.core import check_probe_fits
    from syrac.count.encoder_loading import load_encoder

    try:
        loaded = load_encoder(path)  # names a run folder's checkpoints, a foreign model, ...
        if loaded.kind != "keras":
            raise SyracError(f"{path}: a counter is built from a .keras encoder checkpoint (TF "
                             "SavedModel encoders can be evaluated by finetune_wrapper.py only)")
        probe = _probe_of(path)
        check_probe_fits(probe, loaded, ProbeFolder.of_checkpoint(path).probe_path)
    except SyracError as error:
        raise SyracError(f"--model {error}" if str(error).startswith(path)
                         else f"--model {path}: {error}") from None
    counter = PatchCounter(loaded.source, n=1 if n is None else n,
                           image_shape=probe.record.input_shape,
                           preprocessing=probe.record.preprocessing,
                           head_weights=probe.weights, name="patch_counter")
    counter(tf.zeros([1, *counter.image_shape]))  # built, so that it saves and exports whole
    return counter


def export_saved_model(counter, path):
    """Write ``counter`` as a TF SavedModel for TF Serving.

    Its ``serving_default`` signature takes ``image_bytes`` (a batch of encoded JPEG, PNG, GIF
    or BMP files, any sizes) and returns ``count`` ``(B,)`` and ``patch_counts`` ``(B, N * N)``.
    """
    height, width = counter.image_shape[0], counter.image_shape[1]

    def decode(encoded):
        image = tf.io.decode_image(encoded, channels=3, dtype=tf.float32,
                                   expand_animations=False)
        image.set_shape([None, None, 3])
        return tf.image.resize(image, [height, width], method="bilinear")

    def serve(image_bytes):
        images = tf.map_fn(decode, image_bytes,
                           fn_output_signature=tf.TensorSpec([height, width, 3], tf.float32))
        return counter(images)

    archive = keras.export.ExportArchive()
    archive.track(counter)
    archive.add_endpoint("serving_default", serve,
                         input_signature=[tf.TensorSpec([None], tf.string, name="image_bytes")])
    archive.write_out(path, verbose=False)
    return path


RUNTIME_FORMATS = {"onnx": ".onnx", "litert": ".tflite"}


def export_for_runtime(counter, path, format, input_size=None):
    """Write ``counter`` as an ONNX (``format="onnx"``) or LiteRT (``"litert"``) file.

    Keras' own exporters (tf2onnx; the TFLite converter) write the same graph as
    :meth:`PatchCounter.call`, resizing included: one input ``images``, float32
    ``(B, H, W, 3)`` in [0, 1], any ``H x W`` unless ``input_size`` fixes it, and the outputs
    ``count`` ``(B,)`` and ``patch_counts`` ``(B, N * N)``.
    """
    height, width = input_size if input_size is not None else (None, None)
    signature = [tf.TensorSpec([None, height, width, 3], tf.float32, name="images")]
    try:
        with warnings.catch_warnings():  # Keras' tf2onnx shim probes np.object
            warnings.filterwarnings("ignore", message=".*np.object.*", category=FutureWarning)
            counter.export(path, format=format, input_signature=signature, verbose=False)
    except (ValueError, TypeError, NotImplementedError) as error:
        raise SyracError(f"--format {format} cannot express this counter: "
                         f"{first_line(error)}") from None
    return path
