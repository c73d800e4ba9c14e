"""``python -m syrac export --model MODEL --N 2 --out counter.keras``: one model that counts.

    python -m syrac export --model runs/X/best_model_05.keras --N 2 --out counter.keras
    python -m syrac export --model runs/X/best_model_05.keras --N 2 --out counter --format saved_model

``MODEL`` is a ``.keras`` pre-training checkpoint whose probe was fitted by
``finetune_wrapper.py`` (the ``noisy_synth_regression/probe`` folder beside it). The result
holds input scaling, encoder, the non-negative count head and the N x N patch grid
(:class:`syrac.count.counter.PatchCounter`): ``keras.models.load_model("counter.keras")`` reads
it once ``syrac`` is imported, and maps a batch of [0, 1] images of any size to
``{"count", "patch_counts"}``. ``--format saved_model`` writes a TF SavedModel for TF Serving
whose ``serving_default`` signature takes ``image_bytes`` (encoded JPEG/PNG files).
``--format onnx`` (``.onnx``, for ONNX Runtime) and ``--format litert`` (``.tflite``, for the
LiteRT interpreter) write the same counter, input ``images`` of any size, or of the size
``--input_size H W`` fixes; ``python -m syrac count --model counter.onnx`` counts with them
without TensorFlow. An existing ``--out`` is never overwritten.
"""

import argparse
import os

from syrac.common.errors import SyracError
from syrac.common.numbers import positive_integer
from syrac.common.output_folders import CommandParser

FORMATS = ("keras", "saved_model", "onnx", "litert")
SUFFIXES = {"keras": ".keras", "onnx": ".onnx", "litert": ".tflite"}


def parser(prog):
    result = CommandParser(prog=prog, description=__doc__.split("\n\n")[0].replace("``", ""),
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    result.add_argument("--model", required=True,
                        help="a .keras pre-training checkpoint with its fitted probe")
    result.add_argument("--N", type=positive_integer, required=True, help="patches per side")
    result.add_argument("--out", required=True,
                        help="the counter: a .keras file, or a folder with --format saved_model")
    result.add_argument("--format", choices=FORMATS, default="keras",
                        help="keras (default), saved_model (TF Serving, takes image bytes), onnx "
                             "(ONNX Runtime) or litert (.tflite, the LiteRT interpreter)")
    result.add_argument("--input_size", type=positive_integer, nargs=2, metavar=("H", "W"),
                        help="onnx and litert only: fix the input to H x W pixels (images are "
                             "resized to it before counting); default: any size")
    return result


def run(args):
    if os.path.lexists(args.out):
        raise SyracError(f"--out {args.out} already exists; refusing to overwrite it")
    suffix = SUFFIXES.get(args.format)
    if suffix and not args.out.endswith(suffix):
        raise SyracError(f"--out must end in {suffix} for --format {args.format}. "
                         f"Received: {args.out}")
    if args.input_size and args.format in ("keras", "saved_model"):
        raise SyracError(f"--input_size applies to --format onnx and litert only: a "
                         f"{args.format} counter takes images of any size. "
                         f"Received: --format {args.format}")
    parent = os.path.dirname(os.path.abspath(args.out))
    from syrac.common.output_folders import make_output_folder

    make_output_folder(parent, "--out")
    from syrac.count.counter import counter_from_model, export_for_runtime, export_saved_model

    counter = counter_from_model(args.model, args.N)
    if args.format == "keras":
        temporary = args.out[: -len(".keras")] + f".{os.getpid()}.partial.keras"
        counter.save(temporary)
        os.replace(temporary, args.out)
    elif args.format == "saved_model":
        temporary = f"{args.out}.{os.getpid()}.partial"
        export_saved_model(counter, temporary)
        os.replace(temporary, args.out)
    else:
        temporary = args.out[: -len(suffix)] + f".{os.getpid()}.partial{suffix}"
        try:
            export_for_runtime(counter, temporary, args.format, args.input_size)
            os.replace(temporary, args.out)
        finally:
            if os.path.exists(temporary):
                os.remove(temporary)
    size = "any size" if not args.input_size else "x".join(map(str, args.input_size))
    print(f"Counter (N={counter.n}, encoder input {counter.image_shape}, images of {size}) "
          f"written to {args.out}")
