"""Throughput of the Synthesize step: images/s of text-to-image, image-to-image and inpainting.

Not a test: it prints a table. Without ``--preset`` it times the tiny random Stable Diffusion 3
the tests use (built into a temporary folder): that measures this project's plumbing on a CPU,
not a real model. With ``--preset`` it times a real keras-hub preset at the default job
settings (1024x1024, 28 steps, guidance 7, strength 0.75): run it on the GPU that will make the
datasets to know a job's duration. The first batch of each mode is traced and not timed.
Memory is the process's peak resident size, and the GPU's peak when there is one.

    python benchmarks/synthesis_throughput.py                          # tiny model, CPU
    python benchmarks/synthesis_throughput.py --preset /models/stable_diffusion_3_medium
    python benchmarks/synthesis_throughput.py --preset DIR --size 768x1024 --batch_size 4
"""

import argparse
import os
import platform
import resource
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from syrac.synth.presets import load_model  # noqa: E402
from syrac.synth.prompts import (  # noqa: E402
    COUNT_NEGATIVE_PROMPT,
    REMOVAL_NEGATIVE_PROMPT,
    REMOVAL_PROMPT,
)
from syrac.synth.sizing import parse_size  # noqa: E402
from syrac.synth.tiny_preset import build_tiny_preset  # noqa: E402

MODES = ("text_to_image", "image_to_image", "inpaint")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default=None,
                        help="a keras-hub Stable Diffusion 3 preset (default: the tiny model)")
    parser.add_argument("--size", default=None,
                        help="image size S or HxW (default: 1024 with --preset, else 64)")
    parser.add_argument("--steps", type=int, default=None,
                        help="diffusion steps (default: 28 with --preset, else 4)")
    parser.add_argument("--batch_size", type=int, default=2, help="images per call (default 2)")
    parser.add_argument("--batches", type=int, default=3,
                        help="timed batches per mode, after one untimed (default 3)")
    parser.add_argument("--strength", type=float, default=0.75,
                        help="image-to-image and inpainting strength (default 0.75)")
    parser.add_argument("--guidance", type=float, default=7.0, help="guidance (default 7.0)")
    parser.add_argument("--dtype", default="auto", help="auto, float32, float16 or bfloat16")
    parser.add_argument("--jit_compile", action="store_true", help="XLA-compile generation")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    return parser.parse_args(argv)


def peak_memory():
    """Peak resident memory of this process, and of GPU 0 when there is one (GiB)."""
    host = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux
    gpu = None
    if tf.config.list_physical_devices("GPU"):
        gpu = tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**30
    return host, gpu


def run_mode(model, mode, batch_size, strength, guidance):
    rng = np.random.default_rng(0)
    height, width = model.image_size
    seeds = rng.integers(2**31, size=batch_size)
    if mode == "text_to_image":
        return model.text_to_image(["a photo of 20 people in a city square"] * batch_size,
                                   [COUNT_NEGATIVE_PROMPT] * batch_size, seeds, guidance)
    images = rng.uniform(size=(batch_size, height, width, 3)).astype("float32")
    prompts, negatives = [REMOVAL_PROMPT] * batch_size, [REMOVAL_NEGATIVE_PROMPT] * batch_size
    if mode == "image_to_image":
        return model.image_to_image(images, prompts, negatives, seeds, strength, guidance)
    masks = np.zeros((batch_size, height, width), "float32")
    masks[:, : height // 2] = 1.0
    return model.inpaint(images, masks, prompts, negatives, seeds, strength, guidance)


def main(argv=None):
    args = parse_args(argv)
    real = args.preset is not None
    size = parse_size(args.size or ("1024" if real else "64"))
    steps = args.steps or (28 if real else 4)
    with tempfile.TemporaryDirectory() as folder:
        preset = args.preset or build_tiny_preset(os.path.join(folder, "tiny"))
        start = time.perf_counter()
        model = load_model(preset, size, steps, args.dtype, args.jit_compile)
        load_seconds = time.perf_counter() - start
        print(f"{'tiny random SD3' if not real else preset}: loaded in {load_seconds:.1f} s, "
              f"{size[0]}x{size[1]}, {steps} steps, batch {args.batch_size}, "
              f"dtype {model.description['dtype']}, guidance {args.guidance}, strength "
              f"{args.strength}, XLA {'on' if args.jit_compile else 'off'}")
        print(f"{'mode':<16}{'first batch s':>14}{'images/s':>10}{'s/image':>9}")
        for mode in args.modes:
            start = time.perf_counter()
            run_mode(model, mode, args.batch_size, args.strength, args.guidance)
            first = time.perf_counter() - start
            start = time.perf_counter()
            for _ in range(args.batches):
                run_mode(model, mode, args.batch_size, args.strength, args.guidance)
            seconds = time.perf_counter() - start
            rate = args.batches * args.batch_size / seconds
            print(f"{mode:<16}{first:>14.1f}{rate:>10.3g}{1 / rate:>9.3g}")
    host, gpu = peak_memory()
    gpu_text = f", GPU peak {gpu:.2f} GiB" if gpu is not None else ""
    devices = [d.name for d in tf.config.list_physical_devices("GPU")] or ["CPU only"]
    print(f"peak memory: process {host:.2f} GiB{gpu_text}; {platform.processor() or 'cpu'}, "
          f"{os.cpu_count()} cores, {', '.join(devices)}")


if __name__ == "__main__":
    main()
