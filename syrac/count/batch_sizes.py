"""Batch sizes of the Count step's forward passes, chosen for the device unless set.

``probe_batch_size`` (images per pass when extracting the probe's features) and
``eval_batch_size`` (patches per pass when evaluating) change how fast the Count step runs, not
what it computes: the encoder runs in inference mode, so every image's features are the same
whatever batch it shares (to float rounding). Both default to ``auto``:

- on a CPU, the sizes measured fastest per CPU-second on the development machine
  (``benchmarks/evaluation_throughput.py --compare --eval_batch_sizes ...``, README "Speed");
- on a GPU, as many images as fit a working budget of activations: ResNet50's inference
  activations take about 100 MB per 640x853 image, so 16 images at the paper's size, more for
  smaller inputs, capped at 128.

A number in the parameter file or ``--set eval_batch_size=32`` overrides ``auto``.
"""

import tensorflow as tf

AUTO = "auto"
BATCH_SIZE_KEYS = ("probe_batch_size", "eval_batch_size")
CPU_BATCH_SIZES = {"probe_batch_size": 4, "eval_batch_size": 4}
GPU_IMAGES_AT_PAPER_SIZE = 16
PAPER_PIXELS = 640 * 853
GPU_MAX_BATCH = 128


def device_kind():
    """``gpu`` when TensorFlow sees a GPU, else ``cpu``."""
    return "gpu" if tf.config.list_physical_devices("GPU") else "cpu"


def auto_batch_size(key, input_shape, device):
    """The batch size ``auto`` means for ``key`` at ``input_shape`` on a ``device`` kind."""
    if device == "cpu":
        return CPU_BATCH_SIZES[key]
    pixels = input_shape[0] * input_shape[1]
    fitting = GPU_IMAGES_AT_PAPER_SIZE * PAPER_PIXELS // max(pixels, 1)
    return max(1, min(GPU_MAX_BATCH, fitting))


def resolved_batch_sizes(params, input_shape=None, device=None):
    """``{key: int}`` for both batch sizes of ``params``, ``auto`` resolved for this device."""
    shape = input_shape or params["input_shape"]
    kind = device or device_kind()
    return {
        key: auto_batch_size(key, shape, kind) if params[key] == AUTO else params[key]
        for key in BATCH_SIZE_KEYS
    }
