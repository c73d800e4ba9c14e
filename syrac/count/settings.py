"""Which input shape and scaling the Count step uses an encoder with, and why.

Precedence, lowest first: ``--params``; the pre-training run's ``hyperparams.json``; ``--set``;
for the input shape, the encoder's own fixed input size. Every replacement becomes a note the
step prints, and the source of every value is recorded.
"""

from syrac.common.errors import SyracError
from syrac.count.core import ENCODER_SETTINGS


def resolve_encoder_settings(params, params_file, overrides, encoder, *, hyperparams,
                             hyperparams_file):
    """Decide the input shape and preprocessing the encoder is used with, and say why.

    Returns:
        ``(settings, sources, notes)``: the values, where each came from, and the notes to print.
    """
    settings, sources, notes = {}, {}, []
    for key in ENCODER_SETTINGS:
        value, source = params[key], f"--params {params_file}"
        if key in overrides:
            source = "--set"
            if key in hyperparams and hyperparams[key] != value:
                notes.append(
                    f"note: using {key}={value} from --set although the encoder was "
                    f"pre-trained with {key}={hyperparams[key]} ({hyperparams_file})"
                )
        elif key in hyperparams:
            if hyperparams[key] != value:
                notes.append(
                    f"note: using {key}={hyperparams[key]} from {hyperparams_file} (how the "
                    f"encoder was pre-trained) instead of {key}={value} from {source}"
                )
            value, source = hyperparams[key], hyperparams_file
        settings[key], sources[key] = value, source
    fixed = encoder.input_shape
    if fixed is not None and fixed != settings["input_shape"]:
        notes.append(
            f"note: using input_shape={fixed}, the fixed input size of the encoder "
            f"{encoder.path}, instead of input_shape={settings['input_shape']} from "
            f"{sources['input_shape']}"
        )
        settings["input_shape"], sources["input_shape"] = fixed, "the encoder's input layer"
    return settings, sources, notes


def check_probe_settings(probe, settings, probe_path):
    """Refuse a saved probe fitted with other encoder settings than ``settings``."""
    for key in ENCODER_SETTINGS:
        fitted_with = getattr(probe.record, key)
        if fitted_with is not None and fitted_with != settings[key]:
            raise SyracError(
                f"the probe in {probe_path} was fitted with {key}={fitted_with}, but this "
                f"run resolves {key}={settings[key]}; use the same settings or fit again "
                "(--stage both)"
            )
