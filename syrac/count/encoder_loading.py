"""Loading a frozen SYRAC encoder from disk, whichever code wrote it.

Two kinds of checkpoint exist:

- a ``.keras`` file written by our pre-training: a functional ``keras.Model`` named ``encoder``
  (ResNet50 or VGG16 backbone + global average pooling), read with ``keras.models.load_model``;
- a TF SavedModel folder written by the authors' TensorFlow 2.8 code (a Keras 2 model saved with
  ``save_format='tf'``). Keras 3 cannot rebuild those as models, so they are wrapped, for inference
  only, in ``keras.layers.TFSMLayer`` on the ``serving_default`` signature.

Either way :func:`load_encoder` returns an :class:`Encoder`: a callable mapping a float32 batch
``(B, H, W, 3)`` of images *already scaled* for the encoder to ``(B, D)`` features, which also
knows the input shape it expects when the checkpoint records one.

A pre-training run folder holds its checkpoints next to ``hyperparams.json``
(``RUN_DIR/best_model_05.keras`` or the authors' ``RUN_DIR/best_model_05/``);
:func:`find_hyperparams` and :func:`load_hyperparams` find and read it.
"""

import os
import zipfile

import keras
import tensorflow as tf

# Imported for its side effect: registering the project's serializable layers, in case a
# checkpoint holds one of them.
import syrac.rank.input_scaling  # noqa: F401
from syrac.common.config import SCHEMA
from syrac.common.errors import SyracError, first_line
from syrac.common.files import read_json
from syrac.count.checkpoint_files import checkpoint_kind

SERVING_ENDPOINT = "serving_default"
HYPERPARAMS_FILE = "hyperparams.json"
# The keys of a pre-training run's hyper-parameters that describe how its encoder sees images.
ENCODER_KEYS = ("input_shape", "preprocessing", "model_name")


class Encoder:
    """A frozen feature extractor: ``encoder(images) -> (B, D)`` float32 features.

    Args:
        function: maps a float32 ``(B, H, W, 3)`` tensor to a ``(B, D)`` tensor.
        path: the checkpoint it was read from.
        kind: ``"keras"`` (a ``.keras`` file) or ``"saved_model"`` (a TF SavedModel folder).
        input_shape: ``[H, W, 3]`` the checkpoint was built for, or ``None`` when unknown or
            not fixed (a model built with ``None`` height and width).
        feature_dim: ``D`` when known, else ``None``.
        source: the loaded object behind ``function`` (a ``keras.Model`` or a
            ``keras.layers.TFSMLayer``), kept for inspection and to keep it alive.

    Example:
        >>> encoder = load_encoder("runs/NAME/DS/0/2024-01-01-00-00-00/best_model_05.keras")
        >>> encoder(tf.zeros((3, *encoder.input_shape))).shape  # -> (3, 2048)
    """

    def __init__(self, function, path, kind, *, input_shape=None, feature_dim=None, source=None):
        self.function = function
        self.source = source
        self.path = path
        self.kind = kind
        self.input_shape = list(input_shape) if input_shape is not None else None
        self.feature_dim = feature_dim

    def __call__(self, images):
        images = tf.convert_to_tensor(images, dtype=tf.float32)
        if images.shape.rank != 4 or images.shape[-1] != 3:
            raise ValueError(
                f"the encoder expects a (batch, height, width, 3) batch. "
                f"Received: shape={tuple(images.shape)}"
            )
        features = self.function(images)
        if features.shape.rank != 2:
            raise SyracError(
                f"{self.path}: the encoder returned features of shape "
                f"{tuple(features.shape)}; expected (batch, features)"
            )
        return features

    def describe(self):
        """A JSON-ready summary, recorded next to probes and results."""
        return {
            "path": self.path,
            "kind": self.kind,
            "input_shape": self.input_shape,
            "feature_dim": self.feature_dim,
        }


def _static_shape(dimensions):
    """``[H, W, 3]`` from a ``(None, H, W, 3)`` shape, or ``None`` if H or W is not fixed."""
    dimensions = list(dimensions)
    if len(dimensions) != 4 or dimensions[-1] != 3:
        return None
    height, width = dimensions[1], dimensions[2]
    if height is None or width is None:
        return None
    return [int(height), int(width), 3]


def _load_keras_file(path):
    if not zipfile.is_zipfile(path):
        raise SyracError(
            f"{path}: not a Keras archive (a .keras file is a zip written by model.save)"
        )
    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as error:  # Keras raises many types for unreadable archives.
        raise SyracError(
            f"{path}: cannot be read as a Keras model: {first_line(error)}"
        ) from None
    if not isinstance(model, keras.Model):
        raise SyracError(
            f"{path}: holds a {type(model).__name__}, not a Keras model; expected the "
            "encoder saved by pre-training"
        )
    inputs, outputs = model.inputs or [], model.outputs or []
    if len(inputs) != 1 or len(outputs) != 1:
        raise SyracError(
            f"{path}: model {model.name!r} has {len(inputs)} input(s) and {len(outputs)} "
            "output(s); an encoder has one image input and one feature output"
        )
    input_shape = tuple(inputs[0].shape)
    output_shape = tuple(outputs[0].shape)
    if len(input_shape) != 4 or input_shape[-1] != 3 or len(output_shape) != 2:
        raise SyracError(
            f"{path}: model {model.name!r} maps {input_shape} to {output_shape}; an encoder "
            "maps (batch, height, width, 3) images to (batch, features)"
        )

    @tf.function(reduce_retracing=True)
    def encode(images):
        return model(images, training=False)

    return Encoder(
        encode,
        path,
        "keras",
        input_shape=_static_shape(input_shape),
        feature_dim=output_shape[-1],
        source=model,
    )


def _single_output(outputs, path):
    if isinstance(outputs, dict):
        if len(outputs) != 1:
            raise SyracError(
                f"{path}: the '{SERVING_ENDPOINT}' signature has {len(outputs)} outputs "
                f"({sorted(outputs)}); an encoder has one"
            )
        return next(iter(outputs.values()))
    if isinstance(outputs, (list, tuple)):
        if len(outputs) != 1:
            raise SyracError(
                f"{path}: the '{SERVING_ENDPOINT}' signature has {len(outputs)} outputs; "
                "an encoder has one"
            )
        return outputs[0]
    return outputs


def _load_saved_model(path):
    try:
        layer = keras.layers.TFSMLayer(path, call_endpoint=SERVING_ENDPOINT)
    except ValueError as error:
        # TFSMLayer says which endpoints exist when the one asked for is missing.
        raise SyracError(
            f"{path}: a TF SavedModel without a usable '{SERVING_ENDPOINT}' signature: "
            f"{first_line(error)}"
        ) from None
    except Exception as error:  # Corrupt protobufs and missing variables surface as many types.
        raise SyracError(
            f"{path}: cannot be read as a TF SavedModel: {first_line(error)}"
        ) from None
    endpoint = layer.call_endpoint_fn
    args, kwargs = getattr(endpoint, "structured_input_signature", ((), {}))
    specs = list(args) + list(kwargs.values())
    if len(specs) != 1:
        raise SyracError(
            f"{path}: the '{SERVING_ENDPOINT}' signature takes {len(specs)} inputs; an "
            "encoder takes one batch of images"
        )
    input_shape = _static_shape(specs[0].shape.as_list()) if specs[0].shape.rank else None
    feature_dim = None
    output_spec = _single_output(getattr(endpoint, "structured_outputs", None), path)
    if isinstance(output_spec, tf.TensorSpec) and output_spec.shape.rank == 2:
        feature_dim = output_spec.shape[-1]

    def encode(images):
        return _single_output(layer(images), path)

    return Encoder(
        encode,
        path,
        "saved_model",
        input_shape=input_shape,
        feature_dim=feature_dim,
        source=layer,
    )


def load_encoder(path):
    """Load the encoder checkpoint at ``path`` (a ``.keras`` file or a TF SavedModel folder).

    Returns:
        An :class:`Encoder`.

    Raises:
        SyracError: naming what was found at ``path`` when it is not a readable encoder.
    """
    path = os.fspath(path)
    if checkpoint_kind(path) == "saved_model":
        return _load_saved_model(path)
    return _load_keras_file(path)


def find_hyperparams(checkpoint_path):
    """Return the ``hyperparams.json`` of the pre-training run that wrote a checkpoint, or None.

    Both our ``RUN_DIR/best_model_05.keras`` and the authors' SavedModel folder
    ``RUN_DIR/best_model_05/`` sit directly inside the run folder, next to that file.
    """
    checkpoint = os.path.abspath(os.fspath(checkpoint_path).rstrip("/\\"))
    candidate = os.path.join(os.path.dirname(checkpoint), HYPERPARAMS_FILE)
    return candidate if os.path.isfile(candidate) else None


def load_hyperparams(checkpoint_path):
    """Read how the encoder at ``checkpoint_path`` was pre-trained, if its run folder says.

    Returns:
        ``(settings, path)``: ``settings`` holds those of :data:`ENCODER_KEYS` that the run's
        ``hyperparams.json`` records (validated like a parameter file), ``path`` is that file;
        ``({}, None)`` when there is none.
    """
    path = find_hyperparams(checkpoint_path)
    if path is None:
        return {}, None
    document = read_json(path)
    if not isinstance(document, dict):
        raise SyracError(
            f"{path}: expected an object of hyper-parameters. Received: {type(document).__name__}"
        )
    settings = {}
    for key in ENCODER_KEYS:
        if key not in document:
            continue
        check, description, _ = SCHEMA[key]
        if not check(document[key]):
            raise SyracError(
                f"{path}: '{key}' must be {description}. Received: {key}={document[key]!r}"
            )
        settings[key] = list(document[key]) if key == "input_shape" else document[key]
    return settings, path
