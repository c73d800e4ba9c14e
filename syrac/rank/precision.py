"""Mixed precision for pre-training, with the parts that need float32 kept in float32.

``precision: float32 | mixed_float16 | mixed_bfloat16`` (parameter files and ``--set``). Under a
mixed policy the encoder computes in half precision with float32 variables; the augmentation,
the input scaling, the ranking decoder (so the score and the loss) stay float32, batch
normalisation computes its statistics in float32 (Keras upcasts), and with float16 the loss is
scaled (``keras.optimizers.LossScaleOptimizer``). Checkpoints are float32 copies of the encoder
(:func:`float32_copy`), so counting always loads a float32 encoder.
"""

import contextlib

import keras



@contextlib.contextmanager
def dtype_policy(name):
    """Build the layers created inside under the Keras dtype policy ``name``, then restore."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def _as_float32(config):
    """``config`` with every layer's dtype policy replaced by float32."""
    if isinstance(config, dict):
        if config.get("class_name") == "DTypePolicy" and isinstance(config.get("config"), dict):
            return {**config, "config": {**config["config"], "name": "float32"}}
        return {key: _as_float32(value) for key, value in config.items()}
    if isinstance(config, list):
        return [_as_float32(value) for value in config]
    return config


def float32_copy(model):
    """A float32 copy of a functional ``model`` built under any policy, with its weights."""
    if all(layer.dtype_policy.name == "float32" for layer in model._flatten_layers()):
        return model
    with dtype_policy("float32"):
        twin = model.__class__.from_config(_as_float32(model.get_config()))
    twin.set_weights(model.get_weights())
    return twin


def optimizer_for(precision, optimizer):
    """``optimizer``, wrapped in a ``LossScaleOptimizer`` for float16."""
    if precision == "mixed_float16":
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer
