"""Pre-training throughput: pairs/s of the real train step, and how close it runs to this CPU's peak.

    python benchmarks/pretraining_throughput.py --input_shape 224 224 3 --batch_size 3 --steps 5

Prints the train step's pairs/s, the encoder's forward FLOPs per image (from TensorFlow's
profiler on the traced graph), the achieved GFLOP/s of a training step (counted as 3x the
forward FLOPs of the 2 x batch images the step encodes: forward plus the two backward
matrix products), and the measured float32 matrix-multiply peak of this machine for comparison.
Not a test: numbers depend on the machine.
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow.python.framework.convert_to_constants import (  # noqa: E402
    convert_variables_to_constants_v2,
)

from syrac.common.config import load_params  # noqa: E402
from syrac.rank.ranking_model import build_ranking_model, compile_ranking_model  # noqa: E402


def forward_flops_per_image(encoder, input_shape):
    """Floating-point operations of one encoder forward pass, counted by the TF profiler."""
    function = tf.function(lambda x: encoder(x, training=False))
    concrete = function.get_concrete_function(tf.TensorSpec([1, *input_shape], tf.float32))
    frozen = convert_variables_to_constants_v2(concrete)
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    profile = tf.compat.v1.profiler.profile(graph=frozen.graph, options=options)
    return profile.total_float_ops


def matmul_peak_gflops(size=2048, repeats=10):
    """Best observed float32 GFLOP/s of a square matrix multiply on this machine."""
    a = tf.random.normal([size, size])
    b = tf.random.normal([size, size])
    multiply = tf.function(lambda: tf.matmul(a, b))
    multiply().numpy()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        multiply().numpy()
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def _model_and_data(args, jit_compile):
    params, _ = load_params("config", "baseline", {
        "input_shape": args.input_shape, "batch_size": args.batch_size, "weights": None,
        "model_name": args.model_name, "augment": args.augment, "jit_compile": jit_compile,
    })
    keras.utils.set_random_seed(0)
    model = compile_ranking_model(build_ranking_model(params), params)
    shape = [args.batch_size, *args.input_shape]
    batch = ((tf.random.uniform(shape), tf.random.uniform(shape)), tf.ones([args.batch_size, 1]))
    dataset = tf.data.Dataset.from_tensors(batch).repeat()
    model.fit(dataset, steps_per_epoch=2, epochs=1, verbose=0)  # trace, compile and warm up
    return model, dataset


def compare_jit(args):
    """Interleaved A/B timing of the same train step without and with XLA."""
    import statistics

    runs = {setting: _model_and_data(args, setting) for setting in (False, True)}
    walls, cpus = {False: [], True: []}, {False: [], True: []}
    for _ in range(args.rounds):
        for setting, (model, dataset) in runs.items():
            wall, cpu = time.perf_counter(), time.process_time()
            model.fit(dataset, steps_per_epoch=args.steps, epochs=1, verbose=0)
            walls[setting].append((time.perf_counter() - wall) / args.steps * 1000)
            cpus[setting].append((time.process_time() - cpu) / (args.steps * args.batch_size))
    print(f"model {args.model_name}, input {args.input_shape}, batch {args.batch_size} pairs, "
          f"{args.steps} steps x {args.rounds} rounds, interleaved; medians")
    for setting in (False, True):
        print(f"jit_compile={str(setting):5}  {statistics.median(walls[setting]):8.1f} ms/step  "
              f"{statistics.median(cpus[setting]):7.3f} CPU-s/pair")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input_shape", type=int, nargs=3, default=[224, 224, 3])
    parser.add_argument("--batch_size", type=int, default=3)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--model_name", default="resnet50", choices=["resnet50", "vgg16"])
    parser.add_argument("--augment", type=float, default=2.0)
    parser.add_argument("--compare_jit", action="store_true",
                        help="time the train step without and with XLA, interleaved (A B A B), "
                             "and print medians of wall ms/step and CPU-s/pair")
    parser.add_argument("--rounds", type=int, default=4, help="rounds of --compare_jit")
    args = parser.parse_args()
    if args.compare_jit:
        return compare_jit(args)

    params, _ = load_params("config", "baseline", {
        "input_shape": args.input_shape, "batch_size": args.batch_size, "weights": None,
        "model_name": args.model_name, "augment": args.augment,
    })
    keras.utils.set_random_seed(0)
    model = compile_ranking_model(build_ranking_model(params), params)
    shape = [args.batch_size, *args.input_shape]
    batch = ((tf.random.uniform(shape), tf.random.uniform(shape)), tf.ones([args.batch_size, 1]))
    dataset = tf.data.Dataset.from_tensors(batch).repeat()

    model.fit(dataset, steps_per_epoch=1, epochs=1, verbose=0)  # trace and warm up
    start = time.perf_counter()
    model.fit(dataset, steps_per_epoch=args.steps, epochs=1, verbose=0)
    elapsed = time.perf_counter() - start

    pairs_per_second = args.steps * args.batch_size / elapsed
    flops = forward_flops_per_image(model.encoder, args.input_shape)
    achieved = 3 * flops * 2 * args.batch_size * args.steps / elapsed / 1e9
    peak = matmul_peak_gflops()
    print(f"model {args.model_name}, input {args.input_shape}, batch {args.batch_size} pairs, "
          f"{args.steps} steps, augment f={args.augment}")
    print(f"train step:          {elapsed / args.steps * 1000:9.1f} ms/step")
    print(f"throughput:          {pairs_per_second:9.2f} pairs/s")
    print(f"encoder forward:     {flops / 1e9:9.2f} GFLOP/image")
    print(f"achieved:            {achieved:9.1f} GFLOP/s (3 x forward x 2B images a step)")
    print(f"matmul peak:         {peak:9.1f} GFLOP/s (float32 2048x2048)")
    print(f"fraction of peak:    {achieved / peak:9.1%}")


if __name__ == "__main__":
    main()
