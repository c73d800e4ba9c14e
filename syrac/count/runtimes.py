"""One counter, three runtimes: TensorFlow, ONNX Runtime and LiteRT, behind one interface.

``syrac count --model M`` counts with whatever ``M`` is: a ``.keras`` counter or pre-training
checkpoint (TensorFlow, :class:`KerasCounter`), a ``.onnx`` file (ONNX Runtime,
:class:`OnnxCounter`) or a ``.tflite`` file (the LiteRT interpreter, :class:`LiteRTCounter`),
each written by ``python -m syrac export``. All map a batch of float32 [0, 1] images
``(B, H, W, 3)`` to numpy ``counts (B,)`` and ``patch_counts (B, N * N)``, and read image files
with :meth:`read`. The ONNX and LiteRT counters need neither TensorFlow nor Keras: they read
images with Pillow (:func:`syrac.common.image_files.read_image`), which gives TensorFlow's pixels
for every format but JPEG, so a machine with only ``onnxruntime`` or ``ai-edge-litert`` (and
numpy, Pillow, tifffile) can count. Where TensorFlow is installed they decode JPEGs with it, as
the Count step does (its default inverse DCT is libjpeg's fast one, Pillow's the accurate one:
about one grey level apart on average, enough to move a count by a percent), so that every
runtime gives the same counts for the same files; :attr:`jpeg_decoder` says which.

An exported file takes images of any size unless it was exported with ``--input_size H W``;
then images are first resized to ``H x W`` here, bilinearly with half-pixel centres as
TensorFlow resizes (:func:`resize_bilinear`).
"""

import math
import os

import numpy as np

from syrac.common.errors import SyracError, first_line

RUNTIME_SUFFIXES = {".onnx": "onnxruntime", ".tflite": "litert"}


def resize_bilinear(images, height, width):
    """``tf.image.resize(images, [height, width], "bilinear")`` in numpy: half-pixel centres,
    no antialiasing; ``images`` is ``(B, H, W, C)`` float32."""
    images = np.asarray(images, np.float32)
    if images.shape[1:3] == (height, width):
        return images

    def taps(size_in, size_out):
        position = (np.arange(size_out, dtype=np.float32) + 0.5) * (size_in / size_out) - 0.5
        low = np.floor(position)
        weight = (position - low).astype(np.float32)
        low = low.astype(np.int64)
        return np.clip(low, 0, size_in - 1), np.clip(low + 1, 0, size_in - 1), weight

    top, bottom, dy = taps(images.shape[1], height)
    left, right, dx = taps(images.shape[2], width)
    dx = dx[np.newaxis, np.newaxis, :, np.newaxis]
    upper = images[:, top][:, :, left] * (1 - dx) + images[:, top][:, :, right] * dx
    lower = images[:, bottom][:, :, left] * (1 - dx) + images[:, bottom][:, :, right] * dx
    dy = dy[np.newaxis, :, np.newaxis, np.newaxis]
    return (upper * (1 - dy) + lower * dy).astype(np.float32)


def _grid_side(path, cells):
    side = math.isqrt(int(cells))
    if side * side != cells:
        raise SyracError(f"--model {path}: its patch_counts output has {cells} values, not the "
                         "N x N of a counter written by python -m syrac export")
    return side


class _ExportedCounter:
    """What the ONNX and LiteRT counters share: the grid side, the fixed input size if any,
    reading images without TensorFlow, and checking ``--N``."""

    runtime = None
    supports_map = False

    def __init__(self, path, n, input_shape, patch_cells):
        self.path = path
        self.n = _grid_side(path, patch_cells)
        if n is not None and n != self.n:
            raise SyracError(f"--model {path} is a counter exported for N={self.n}; --N {n} "
                             "would need another export (or leave --N out)")
        fixed = [side if isinstance(side, int) and side > 0 else None for side in input_shape[1:3]]
        self.input_size = tuple(fixed) if None not in fixed else None

    @property
    def jpeg_decoder(self):
        """``"tensorflow"`` where TensorFlow can be imported, else ``"pillow"``."""
        import importlib.util

        try:
            return "tensorflow" if importlib.util.find_spec("tensorflow") else "pillow"
        except (ImportError, ValueError):
            return "pillow"

    def read(self, path):
        from syrac.common.image_files import read_image, sniff_format

        if sniff_format(path) == "jpeg" and self.jpeg_decoder == "tensorflow":
            return KerasCounter.read(path)
        return read_image(path)

    def _sized(self, images):
        images = np.asarray(images, np.float32)
        return images if self.input_size is None else resize_bilinear(images, *self.input_size)


class OnnxCounter(_ExportedCounter):
    """A counter exported with ``--format onnx``, run by ONNX Runtime on the CPU."""

    runtime = "onnxruntime"

    def __init__(self, path, n=None, threads=None):
        try:
            import onnxruntime
        except ImportError:
            raise SyracError(f"--model {path}: counting with an ONNX file needs the onnxruntime "
                             "package (pip install onnxruntime)") from None
        options = onnxruntime.SessionOptions()
        # Idle threads sleep rather than spin between images: the same wall-clock speed for
        # about 4% fewer CPU-seconds per image (benchmarks/counting_runtimes.py).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if threads:
            options.intra_op_num_threads = int(threads)
        try:
            self.session = onnxruntime.InferenceSession(path, options,
                                                        providers=["CPUExecutionProvider"])
        except Exception as error:  # noqa: BLE001 (ONNX Runtime's own exception types)
            raise SyracError(f"--model {path}: ONNX Runtime cannot load it "
                             f"({first_line(error)})") from None
        (image_input,) = self.session.get_inputs()
        outputs = {output.name: output.shape for output in self.session.get_outputs()}
        if set(outputs) != {"count", "patch_counts"}:
            raise SyracError(f"--model {path}: not a counter written by python -m syrac export "
                             f"(outputs {sorted(outputs)}, not count and patch_counts)")
        self.input_name = image_input.name
        super().__init__(path, n, image_input.shape, outputs["patch_counts"][-1])

    def __call__(self, images):
        counts, patch_counts = self.session.run(["count", "patch_counts"],
                                                {self.input_name: self._sized(images)})
        return counts, patch_counts


class LiteRTCounter(_ExportedCounter):
    """A counter exported with ``--format litert`` (a ``.tflite`` file), run by LiteRT."""

    runtime = "litert"

    def __init__(self, path, n=None, threads=None):
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:
            raise SyracError(f"--model {path}: counting with a .tflite file needs the "
                             "ai-edge-litert package (pip install ai-edge-litert)") from None
        try:
            self.interpreter = Interpreter(model_path=path, num_threads=threads or os.cpu_count())
            signatures = self.interpreter.get_signature_list()
        except (ValueError, RuntimeError) as error:
            raise SyracError(f"--model {path}: LiteRT cannot load it "
                             f"({first_line(error)})") from None
        signature = signatures.get("serving_default", {})
        if sorted(signature.get("outputs", [])) != ["count", "patch_counts"]:
            raise SyracError(f"--model {path}: not a counter written by python -m syrac export "
                             "(no serving_default signature with count and patch_counts)")
        self.runner = self.interpreter.get_signature_runner("serving_default")
        (self.input_name,) = signature["inputs"]
        details = self.runner.get_input_details()[self.input_name]
        outputs = self.runner.get_output_details()
        super().__init__(path, n, [int(side) for side in details["shape_signature"]],
                         int(outputs["patch_counts"]["shape_signature"][-1]))

    def __call__(self, images):
        outputs = self.runner(**{self.input_name: self._sized(images)})
        return outputs["count"], outputs["patch_counts"]


class KerasCounter:
    """A :class:`~syrac.count.counter.PatchCounter` (exported, or built from a checkpoint and
    its probe), run by TensorFlow; images are decoded by TensorFlow, as the Count step does.

    The counter is called as one traced graph (``tf.function``, one trace for every image
    size), which lets TensorFlow fuse each convolution with its bias and activation: 20% fewer
    CPU-seconds per image than calling it eagerly (``benchmarks/counting_runtimes.py``), the
    same counts to float rounding. ``traced=False`` calls it eagerly, as earlier versions did.
    """

    runtime = "tensorflow"
    supports_map = True
    input_size = None
    jpeg_decoder = "tensorflow"

    def __init__(self, path, n=None, traced=True):
        import tensorflow as tf

        from syrac.count.counter import counter_from_model

        self.path = path
        self.model = counter_from_model(path, n)
        self.n = self.model.n
        self._call = self.model
        if traced:
            self._call = tf.function(
                self.model, input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)])

    @staticmethod
    def read(path):
        import tensorflow as tf

        from syrac.common.images import decode_image

        return decode_image(tf.constant(path)).numpy()

    def __call__(self, images):
        outputs = self._call(np.asarray(images, np.float32))
        return np.asarray(outputs["count"]), np.asarray(outputs["patch_counts"])


def open_counter(path, n=None, threads=None):
    """The counter for ``--model path``, by its file name: ``.onnx``, ``.tflite``, else Keras."""
    if not os.path.exists(path):
        raise SyracError(f"--model {path}: no such file or folder")
    runtime = RUNTIME_SUFFIXES.get(os.path.splitext(path)[1].lower())
    if runtime == "onnxruntime":
        return OnnxCounter(path, n, threads)
    if runtime == "litert":
        return LiteRTCounter(path, n, threads)
    return KerasCounter(path, n)
