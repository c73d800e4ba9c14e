"""Pre-training throughput per setting (precision x XLA), interleaved, against this machine's peak.

    python benchmarks/pretraining_throughput.py --input_shape 320 427 3 --batch_size 3 \\
        --precision float32 mixed_bfloat16 --jit_compile false true --rounds 4 --steps 4

Every combination of ``--precision`` and ``--jit_compile`` is built once, traced and warmed up,
then timed in rounds A B C D A B C D ..., so that a slow spell of a shared machine falls on every
setting alike. Per setting it prints the medians over rounds of:

- wall ms/step and pairs/s (wall clock: noisy on throttled virtual machines);
- CPU-seconds per pair (``time.process_time``: the figure to compare across settings on a CPU);
- achieved GFLOP/s, counting a training step as 3x the forward FLOPs of the 2 x batch images it
  encodes (forward plus the two backward matrix products), from TensorFlow's profiler;
- that figure as a fraction of the measured float32 and bfloat16 matrix-multiply peaks.

Not a test: numbers depend on the machine. On a GPU add ``mixed_float16`` to ``--precision``.
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

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
from syrac.common.config import load_params  # noqa: E402
from syrac.common.config import PRECISIONS  # noqa: E402
from syrac.rank.ranking_model import build_ranking_model, compile_ranking_model  # noqa: E402


def build_setting(args, precision, jit_compile):
    """A compiled ranking model for one setting, and an endless dataset of one random batch."""
    params, _ = load_params("config", "baseline", {
        "input_shape": args.input_shape, "batch_size": args.batch_size, "weights": None,
        "model_name": args.model_name, "augment": args.augment,
        "precision": precision, "jit_compile": jit_compile == "true",
    })
    keras.utils.set_random_seed(0)
    model = compile_ranking_model(build_ranking_model(params), params)
    shape = [args.batch_size, *args.input_shape]
    batch = ((tf.random.uniform(shape), tf.random.uniform(shape)), tf.ones([args.batch_size, 1]))
    dataset = tf.data.Dataset.from_tensors(batch).repeat()
    model.fit(dataset, steps_per_epoch=2, epochs=1, verbose=0)  # trace, compile and warm up
    return model, dataset


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input_shape", type=int, nargs=3, default=[224, 224, 3])
    parser.add_argument("--batch_size", type=int, default=3)
    parser.add_argument("--steps", type=int, default=4, help="train steps per round and setting")
    parser.add_argument("--rounds", type=int, default=4, help="interleaved rounds (medians)")
    parser.add_argument("--model_name", default="resnet50", choices=["resnet50", "vgg16"])
    parser.add_argument("--augment", type=float, default=2.0)
    parser.add_argument("--precision", nargs="+", default=["float32"], choices=PRECISIONS)
    parser.add_argument("--jit_compile", nargs="+", default=["false"], choices=["false", "true"])
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    settings = [(precision, jit) for precision in args.precision for jit in args.jit_compile]
    built = {setting: build_setting(args, *setting) for setting in settings}

    def train(model, dataset):
        return lambda: model.fit(dataset, steps_per_epoch=args.steps, epochs=1, verbose=0)

    medians = interleaved({setting: train(*built[setting]) for setting in settings}, args.rounds)
    flops = forward_flops_per_image(built[settings[0]][0].encoder, args.input_shape)
    step_flops = 3 * flops * 2 * args.batch_size
    peak32, peak16 = matmul_peak_gflops(tf.float32), matmul_peak_gflops(tf.bfloat16)

    print(f"{args.model_name} at {args.input_shape}, batch {args.batch_size} pairs, augment "
          f"f={args.augment}; {args.steps} steps x {args.rounds} interleaved rounds, medians")
    print(machine_line())
    print(f"encoder forward {flops / 1e9:.2f} GFLOP/image; {peaks_line(peak32, peak16)}")
    print_header([("precision", 16, "<"), ("jit", 6, ">"), ("ms/step", 10, ">"),
                  ("pairs/s", 9, ">"), ("CPU-s/pair", 12, ">"), ("GFLOP/s", 9, ">"),
                  ("of fp32 peak", 14, ">"), ("of bf16 peak", 14, ">")])
    for setting in settings:
        wall, cpu = medians[setting]
        step = wall / args.steps
        achieved = step_flops / step / 1e9
        print(f"{setting[0]:<16}{setting[1]:>6}{step * 1000:>10.0f}"
              f"{args.batch_size / step:>9.2f}{cpu / (args.steps * args.batch_size):>12.3f}"
              f"{achieved:>9.1f}{achieved / peak32:>14.0%}{achieved / peak16:>14.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
