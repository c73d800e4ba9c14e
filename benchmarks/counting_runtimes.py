"""Counting speed of one counter in TensorFlow, ONNX Runtime and LiteRT (``syrac count``'s three).

Not a test: it prints a table. The counter is ResNet50 (random weights: a forward pass costs the
same whatever they are) with a non-negative head at the Count step's input size, 640x853, and
N = 2, so each image is four encoder passes. It is saved as ``.keras`` and exported with
``--format onnx`` and ``--format litert`` as ``python -m syrac export`` does. Each round starts
one fresh process per runtime, in turn (A B C A B C ...): the process loads its counter, counts
one image to warm up, then counts ``--images`` images one by one from arrays (decoding is not
timed) and reports its wall and CPU seconds (``time.process_time``: every thread of the
process, spinning included). Medians over ``--rounds`` are printed as images per wall-clock
second and per CPU-second, with the speed-up per CPU-second over TensorFlow called eagerly (the
count command before it traced its counter: ``tensorflow-eager``) and the GFLOP/s
each CPU-second achieves (the encoder's FLOPs from the TF profiler, N x N passes per image)
beside the best float32 matrix multiply TensorFlow reaches on one core.

    python benchmarks/counting_runtimes.py                   # 640x853, N = 2, 3 images, 3 rounds
    python benchmarks/counting_runtimes.py --height 320 --width 427 --rounds 5
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

RUNTIMES = {"tensorflow-eager": "counter.keras", "tensorflow": "counter.keras",
            "onnxruntime": "counter.onnx", "litert": "counter.tflite"}


def _arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--height", type=int, default=640)
    parser.add_argument("--width", type=int, default=853)
    parser.add_argument("--N", type=int, default=2)
    parser.add_argument("--images", type=int, default=3, help="images timed per process")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--runtimes", nargs="+", default=list(RUNTIMES), choices=list(RUNTIMES))
    parser.add_argument("--folder", help="keep the counters here (default: a temporary folder)")
    parser.add_argument("--worker", choices=[*RUNTIMES, "flops"], help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _images(args):
    import numpy as np

    rng = np.random.default_rng(0)
    return rng.random((args.images + 1, args.height, args.width, 3), dtype=np.float32)


def build_counters(args, folder):
    """The ResNet50 counter as .keras, .onnx and .tflite in ``folder`` (once)."""
    if all(os.path.exists(os.path.join(folder, name)) for name in RUNTIMES.values()):
        return
    import numpy as np

    from syrac.count.counter import PatchCounter, export_for_runtime
    from syrac.rank.backbones import build_encoder

    shape = [args.height, args.width, 3]
    encoder = build_encoder("resnet50", shape, None)
    weights = np.random.default_rng(1).uniform(0, 1e-3, int(encoder.output_shape[-1]))
    counter = PatchCounter(encoder, n=args.N, image_shape=shape, head_weights=weights)
    counter(np.zeros([1, *shape], np.float32))
    counter.save(os.path.join(folder, "counter.keras"))
    export_for_runtime(counter, os.path.join(folder, "counter.onnx"), "onnx")
    export_for_runtime(counter, os.path.join(folder, "counter.tflite"), "litert")


def flops_and_peak(args):
    """The counter's FLOPs per image and TF's float32 matmul GFLOP/s on one core (JSON)."""
    import keras
    import tensorflow as tf

    import syrac.count.counter  # noqa: F401 (registers PatchCounter for loading)
    from benchmarks.measuring import forward_flops_per_image, matmul_peak_gflops

    tf.config.threading.set_intra_op_parallelism_threads(1)
    peak = matmul_peak_gflops()
    encoder = keras.models.load_model(os.path.join(args.folder, "counter.keras")).encoder
    flops = forward_flops_per_image(encoder, [args.height, args.width, 3]) * args.N ** 2
    print(json.dumps({"flops": flops, "peak": peak}))


def worker(args):
    """One process, one runtime: load, warm up, time; prints a JSON line."""
    if args.worker == "flops":
        return flops_and_peak(args)
    from syrac.count.runtimes import KerasCounter, open_counter

    path = os.path.join(args.folder, RUNTIMES[args.worker])
    counter = (KerasCounter(path, traced=False) if args.worker == "tensorflow-eager"
               else open_counter(path))
    images = _images(args)
    counter(images[:1])
    wall, cpu = time.perf_counter(), time.process_time()
    for image in images[1:]:
        counter(image[None])
    print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}))


def main(argv=None):
    args = _arguments(argv)
    if args.worker:
        return worker(args)
    from benchmarks.measuring import processor_name

    holder = None if args.folder else tempfile.TemporaryDirectory()
    args.folder = args.folder or holder.name
    os.makedirs(args.folder, exist_ok=True)
    build_counters(args, args.folder)
    timings = {runtime: [] for runtime in args.runtimes}
    for round_number in range(args.rounds):
        for runtime in args.runtimes:
            completed = subprocess.run(
                [sys.executable, os.path.abspath(__file__), "--worker", runtime,
                 "--folder", args.folder, "--height", str(args.height), "--width",
                 str(args.width), "--images", str(args.images)],
                capture_output=True, text=True, check=True)
            timings[runtime].append(json.loads(completed.stdout.strip().splitlines()[-1]))
        print(f"round {round_number + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    measured = json.loads(subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--worker", "flops", "--folder", args.folder,
         "--height", str(args.height), "--width", str(args.width), "--N", str(args.N)],
        capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])
    flops, peak = measured["flops"], measured["peak"]
    print(f"{processor_name()}, {os.cpu_count()} CPU(s); counter: ResNet50 at "
          f"{args.height}x{args.width}, N = {args.N} ({args.N ** 2} encoder passes per image); "
          f"{args.images} images per process, medians of {args.rounds} interleaved rounds")
    print(f"{flops / 1e9:.0f} GFLOP per image; float32 matmul on one core: {peak:.0f} GFLOP/s")
    print(f"{'runtime':<17}{'images/s':>10}{'images/CPU-s':>14}{'CPU-s/image':>13}"
          f"{'vs eager TF per CPU-s':>23}{'GFLOP/CPU-s':>13}")
    reference = None
    for runtime in args.runtimes:
        wall = statistics.median(t["wall"] for t in timings[runtime]) / args.images
        cpu = statistics.median(t["cpu"] for t in timings[runtime]) / args.images
        reference = reference or (cpu if runtime == "tensorflow-eager" else None)
        ratio = f"{reference / cpu:.2f}x" if reference else "-"
        print(f"{runtime:<17}{1 / wall:>10.3f}{1 / cpu:>14.3f}{cpu:>13.2f}{ratio:>23}"
              f"{flops / 1e9 / cpu:>13.0f}")
    if holder:
        holder.cleanup()


if __name__ == "__main__":
    main()
