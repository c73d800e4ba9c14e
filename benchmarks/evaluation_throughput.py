"""Throughput of the Count step: patch-wise evaluation per setting, and fitting the probe.

Not a test: it prints tables. Images are synthetic crowds written to a temporary folder, the
encoder has random weights (the cost of a forward pass does not depend on them), saved as a
``.keras`` file and read back through :func:`syrac.count.encoder_loading.load_encoder` like a real
checkpoint. Tracing is done before timing.

    python benchmarks/evaluation_throughput.py                      # 224x224, ResNet50
    python benchmarks/evaluation_throughput.py --height 640 --width 853 --images 4
    python benchmarks/evaluation_throughput.py --height 320 --width 427 --compare \\
        --precision float32 mixed_bfloat16 --jit_compile false true --eval_batch_sizes 4 16

The first table times evaluation at every N of ``--grids`` and the probe's fit with the Count
step's own code and batch sizes. ``--compare`` then times evaluation at N = ``--compare_n`` for
every combination of encoder precision, XLA and ``eval_batch_size``, in interleaved rounds
(A B C ... A B C ...), and prints medians of patches/s, CPU-seconds per patch and achieved
GFLOP/s against the measured float32 and bfloat16 matrix-multiply peaks. The Count step itself
always encodes in float32 (a pre-trained checkpoint is a float32 encoder); the mixed rows say
what a half-precision encoder would gain.
"""

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from benchmarks.measuring import (  # noqa: E402
    forward_flops_per_image,
    interleaved,
    machine_line,
    matmul_peak_gflops,
    peaks_line,
    print_header,
)
from syrac.common.annotations import load_count_set  # noqa: E402
from syrac.count.batch_sizes import CPU_BATCH_SIZES, device_kind  # noqa: E402
from syrac.count.encoder_loading import load_encoder  # noqa: E402
from syrac.count.evaluation import evaluate_patchwise  # noqa: E402
from syrac.count.features import extract_features  # noqa: E402
from syrac.count.probe import CountProbe  # noqa: E402
from syrac.fixtures import make_count_set  # noqa: E402
from syrac.rank.backbones import build_encoder  # noqa: E402
from syrac.common.config import PRECISIONS  # noqa: E402
from syrac.rank.precision import dtype_policy  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--height", type=int, default=224, help="input height (default 224)")
    parser.add_argument("--width", type=int, default=224, help="input width (default 224)")
    parser.add_argument("--model_name", default="resnet50", choices=["resnet50", "vgg16"])
    parser.add_argument("--eval_batch_size", type=int, default=CPU_BATCH_SIZES["eval_batch_size"],
                        help="patches per forward pass during evaluation (default: the Count "
                             "step's CPU default)")
    parser.add_argument("--probe_batch_size", type=int,
                        default=CPU_BATCH_SIZES["probe_batch_size"],
                        help="images per forward pass when extracting probe features")
    parser.add_argument("--images", type=int, default=8, help="test images (default 8)")
    parser.add_argument("--train_images", type=int, default=12,
                        help="noisy synthetic images the probe is fitted on (default 12)")
    parser.add_argument("--grids", type=int, nargs="+", default=[1, 2, 3, 4],
                        help="values of N to time (default 1 2 3 4)")
    parser.add_argument("--preprocessing", default="resnet_v2", choices=["resnet_v2", "caffe"])
    parser.add_argument("--compare", action="store_true",
                        help="also time the settings below against each other, interleaved")
    parser.add_argument("--precision", nargs="+", default=["float32"], choices=PRECISIONS)
    parser.add_argument("--jit_compile", nargs="+", default=["false"], choices=["false", "true"])
    parser.add_argument("--eval_batch_sizes", type=int, nargs="+", default=[4, 16])
    parser.add_argument("--compare_n", type=int, default=2, help="N of the compared runs")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (medians)")
    return parser.parse_args(argv)


def encoder_for(checkpoint, precision, jit_compile):
    """The checkpoint's encoder rebuilt under ``precision``, called with or without XLA;
    features come back as float32 whatever the precision."""
    source = keras.models.load_model(checkpoint, compile=False)
    with dtype_policy(precision):
        model = source.__class__.from_config(source.get_config())
    model.set_weights(source.get_weights())

    @tf.function(jit_compile=jit_compile == "true", reduce_retracing=True)
    def encode(images):
        return tf.cast(model(images, training=False), tf.float32)

    return encode


def grid_table(args, encoder, folder, shape):
    """Evaluation at every N of ``--grids`` and the probe's fit, as the Count step runs them."""
    train = load_count_set(folder, "synth")
    start = time.perf_counter()
    features = extract_features(encoder, [p for p, _ in train], shape,
                                args.probe_batch_size, args.preprocessing, progress=False)
    extraction = time.perf_counter() - start
    start = time.perf_counter()
    probe = CountProbe().fit(features, [c for _, c in train])
    nnls_seconds = time.perf_counter() - start

    test = load_count_set(folder, "bench", split="test")
    print(f"{args.model_name} at {args.height}x{args.width}, eval_batch_size "
          f"{args.eval_batch_size}, probe_batch_size {args.probe_batch_size}")
    print_header([("stage", 28, "<"), ("images", 8, ">"), ("patches", 9, ">"),
                  ("seconds", 10, ">"), ("CPU-s", 8, ">"), ("images/s", 10, ">"),
                  ("patches/s", 11, ">")])
    for n in args.grids:
        start, cpu = time.perf_counter(), time.process_time()
        evaluate_patchwise(encoder, probe, test, shape, n, args.eval_batch_size,
                           args.preprocessing, progress=False)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        patches = len(test) * n * n
        print(f"{'evaluate N=' + str(n):<28}{len(test):>8}{patches:>9}{seconds:>10.2f}"
              f"{cpu:>8.1f}{len(test) / seconds:>10.2f}{patches / seconds:>11.2f}")
    print(f"{'fit: feature extraction':<28}{len(features):>8}{'-':>9}{extraction:>10.2f}"
          f"{'-':>8}{len(features) / extraction:>10.2f}{'-':>11}")
    print(f"{'fit: NNLS (' + str(features.shape[1]) + '-d)':<28}{len(features):>8}{'-':>9}"
          f"{nnls_seconds:>10.4f}{'-':>8}{'-':>10}{'-':>11}")
    return probe, test


def compare_table(args, checkpoint, probe, test, shape):
    """Interleaved timing of evaluation at N = ``--compare_n`` for every setting."""
    settings = [(precision, jit, batch) for precision in args.precision
                for jit in args.jit_compile for batch in args.eval_batch_sizes]
    encoders = {(precision, jit): encoder_for(checkpoint, precision, jit)
                for precision in args.precision for jit in args.jit_compile}

    def evaluate(precision, jit, batch):
        encoder = encoders[(precision, jit)]
        return lambda: evaluate_patchwise(encoder, probe, test, shape, args.compare_n, batch,
                                          args.preprocessing, progress=False)

    runs = {setting: evaluate(*setting) for setting in settings}
    for run in runs.values():
        run()  # trace every batch shape before timing
    medians = interleaved(runs, args.rounds)
    flops = forward_flops_per_image(keras.models.load_model(checkpoint, compile=False), shape)
    patches = len(test) * args.compare_n**2
    peak32, peak16 = matmul_peak_gflops(tf.float32), matmul_peak_gflops(tf.bfloat16)
    print()
    print(f"evaluation at N={args.compare_n}: {patches} patches of {shape[0]}x{shape[1]}, "
          f"{flops / 1e9:.2f} GFLOP each; {args.rounds} interleaved rounds, medians")
    print(peaks_line(peak32, peak16))
    print_header([("precision", 16, "<"), ("jit", 6, ">"), ("batch", 7, ">"),
                  ("patches/s", 11, ">"), ("CPU-s/patch", 13, ">"), ("GFLOP/s", 9, ">"),
                  ("of fp32 peak", 14, ">"), ("of bf16 peak", 14, ">")])
    for setting in settings:
        wall, cpu = medians[setting]
        achieved = flops * patches / wall / 1e9
        print(f"{setting[0]:<16}{setting[1]:>6}{setting[2]:>7}{patches / wall:>11.2f}"
              f"{cpu / patches:>13.3f}{achieved:>9.1f}{achieved / peak32:>14.0%}"
              f"{achieved / peak16:>14.0%}")


def main(argv=None):
    args = parse_args(argv)
    shape = [args.height, args.width, 3]
    print(machine_line() + f" (device kind: {device_kind()})")
    with tempfile.TemporaryDirectory() as folder:
        size = (args.height, args.width)
        make_count_set(folder, "synth", images=args.train_images, size=size, max_people=40)
        make_count_set(folder, "bench", images=args.images, size=size, split="test",
                       seed=2, max_people=40)
        checkpoint = os.path.join(folder, "encoder.keras")
        build_encoder(args.model_name, shape, None).save(checkpoint)
        encoder = load_encoder(checkpoint)
        for batch in {args.eval_batch_size, args.probe_batch_size, 1}:
            encoder(tf.zeros([batch, *shape]))  # trace full and remainder batches
        probe, test = grid_table(args, encoder, folder, shape)
        if args.compare:
            compare_table(args, checkpoint, probe, test, shape)
    return 0


if __name__ == "__main__":
    sys.exit(main())
