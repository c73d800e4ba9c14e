"""Finding and loading the Stable Diffusion 3 preset that ``--preset`` names.

``--preset`` is either a local keras-hub preset folder (``config.json``, weights,
``preprocessor.json``, ``assets/``...) or a hub handle: a built-in name such as
``stable_diffusion_3_medium``, ``kaggle://...`` or ``hf://...``. Loading a handle downloads
about 6 GB at first use, which fails without network: that failure becomes one line saying
what to fetch, where from, that a license must be accepted first, and where to put it.

The model is built at the job's image size (``image_shape`` of the backbone), in the job's
dtype: ``auto`` is float16 when a GPU is visible and float32 on a CPU (where float16 is slow).
"""

import os

from syrac.common.errors import SyracError, first_line
from syrac.common.files import read_json
from syrac.synth.diffusion import DiffusionModel

DEFAULT_PRESET = "stable_diffusion_3_medium"
HF_REPOSITORY = "keras/stable_diffusion_3_medium"
KAGGLE_MODEL = "keras/stablediffusion3/keras/stable_diffusion_3_medium"
BACKBONE_CLASS = "StableDiffusion3Backbone"
DTYPES = ("auto", "float32", "float16", "bfloat16")


def built_in_presets():
    """Names of keras-hub's built-in Stable Diffusion 3 presets."""
    import keras_hub

    return sorted(keras_hub.models.StableDiffusion3Backbone.presets)


def is_handle(preset):
    return "://" in preset


def fetch_instructions(preset):
    """One sentence on what to download, where from, and where to put it."""
    return (
        "fetch a Stable Diffusion 3 keras-hub preset on a machine with internet: the Hugging "
        f"Face repository {HF_REPOSITORY} (`hf download {HF_REPOSITORY} --local-dir DIR`) or "
        f"the Kaggle model {KAGGLE_MODEL} (`kagglehub.model_download(\"{KAGGLE_MODEL}\")`), "
        "after accepting the Stability AI Community License on its page (the download is "
        "refused before that; about 6 GB); copy the folder (config.json, model.weights.h5, "
        "preprocessor.json, assets/ ...) to this machine and pass --preset /path/to/that/folder"
        f" instead of {preset!r}"
    )


def check_preset(preset):
    """Refuse a ``--preset`` that cannot work before anything slow happens.

    Returns:
        ``(recorded, config)``: what to record for it (the absolute folder path, or the handle as
        given) and the backbone config of a local folder (``None`` for a handle).
    """
    if os.path.isdir(preset):
        config_path = os.path.join(preset, "config.json")
        if not os.path.isfile(config_path):
            raise SyracError(
                f"--preset {preset}: not a keras-hub preset folder (no config.json); "
                + fetch_instructions(preset)
            )
        config = read_json(config_path)
        kind = str(config.get("registered_name") or config.get("class_name") or "?")
        if BACKBONE_CLASS not in kind:
            raise SyracError(
                f"--preset {preset}: holds a {kind.split('>')[-1]}, not a Stable Diffusion 3 "
                f"preset ({BACKBONE_CLASS})"
            )
        if not os.path.isfile(os.path.join(preset, "preprocessor.json")):
            raise SyracError(
                f"--preset {preset}: no preprocessor.json (the text tokenizers); the folder is "
                "incomplete"
            )
        return os.path.abspath(preset), config
    if is_handle(preset):
        return preset, None
    if os.sep in preset or preset.startswith((".", "~")):
        raise SyracError(f"--preset {preset}: no such folder")
    names = built_in_presets()
    if preset not in names:
        raise SyracError(
            f"--preset {preset}: neither a folder nor a Stable Diffusion 3 preset name "
            f"(built-in: {', '.join(names)}; or a kaggle:// or hf:// handle)"
        )
    return preset, None


def largest_side(config):
    """The largest image side the backbone's position embedding allows (pixels)."""
    return int(config["mmdit_position_size"]) * int(config["mmdit_patch_size"]) * 8


def check_size(image_size, config):
    limit = largest_side(config)
    if max(image_size) > limit:
        raise SyracError(
            f"--size {image_size[0]}x{image_size[1]}: larger than this model's largest image "
            f"side ({limit})"
        )


def resolve_dtype(dtype):
    """``auto`` becomes float16 on a GPU and float32 on a CPU; other names pass through."""
    if dtype not in DTYPES:
        raise SyracError(f"--dtype must be one of {', '.join(DTYPES)}. Received: {dtype!r}")
    if dtype != "auto":
        return dtype
    import tensorflow as tf

    return "float16" if tf.config.list_physical_devices("GPU") else "float32"


def load_model(preset, image_size, num_steps, dtype="auto", jit_compile=False):
    """Load ``preset`` as a :class:`DiffusionModel` making ``image_size`` (height, width) images.

    Raises:
        SyracError: the preset cannot be found, downloaded or read, or ``image_size`` is too
            large for its position embedding.
    """
    recorded, config = check_preset(preset)
    if config is not None:
        check_size(image_size, config.get("config", {}))
    resolved_dtype = resolve_dtype(dtype)
    import keras_hub

    height, width = image_size
    try:
        backbone = keras_hub.models.StableDiffusion3Backbone.from_preset(
            preset, image_shape=(height, width, 3), dtype=resolved_dtype
        )
        preprocessor = keras_hub.models.StableDiffusion3TextToImagePreprocessor.from_preset(
            preset
        )
    except Exception as error:  # noqa: BLE001 - every failure here is reported, named
        if os.path.isdir(preset):
            raise SyracError(
                f"--preset {preset}: cannot load this preset folder ({first_line(error, 160, with_type=True)})"
            ) from None
        raise SyracError(
            f"--preset {preset}: cannot download it ({first_line(error, 100, with_type=True)}); "
            + fetch_instructions(preset)
        ) from None
    check_size(image_size, {"mmdit_position_size": backbone.mmdit_position_size,
                            "mmdit_patch_size": backbone.mmdit_patch_size})
    return DiffusionModel(
        backbone, preprocessor, num_steps, jit_compile=jit_compile,
        description={"preset": recorded, "dtype": resolved_dtype},
    )
