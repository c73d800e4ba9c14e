"""Is a pre-training run input-bound? Pairs/s of the input pipeline alone, on your own data.

    python benchmarks/input_pipeline.py --data_dir DATA --dataset NAME --input_shape 640 853 3 \\
        --batch_size 3 --batches 50

Reads the ranking set, then draws ``--batches`` batches from the same ``tf.data`` schedule
pre-training uses (decoding and resizing in parallel, ``AUTOTUNE``, prefetch) without training,
and prints pairs/s and CPU-seconds per pair. Compare with the train step's pairs/s from
``benchmarks/pretraining_throughput.py`` at the same input shape and batch (its data sit in
memory): when the pipeline alone delivers fewer pairs/s than the step consumes, or not many more
on a machine whose CPU the step also needs, the run waits on its input. Not a test.
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from benchmarks.measuring import machine_line  # noqa: E402
from syrac.common.annotations import load_ranking_set  # noqa: E402
from syrac.rank.pipeline import training_schedule  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data_dir", required=True)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--input_shape", type=int, nargs=3, default=[640, 853, 3])
    parser.add_argument("--batch_size", type=int, default=3)
    parser.add_argument("--batches", type=int, default=50, help="batches to time")
    parser.add_argument("--shuffle_buffer", type=int, default=6000)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    pairs = load_ranking_set(args.data_dir, args.dataset)["train"]
    epochs = -(-args.batches * args.batch_size // len(pairs)) + 1
    schedule = training_schedule(pairs, args.input_shape, args.batch_size, epochs, 0,
                                 args.shuffle_buffer)
    iterator = iter(schedule)
    next(iterator)  # start the pipeline's threads before timing
    wall, cpu = time.perf_counter(), time.process_time()
    drawn = 0
    for _ in range(args.batches):
        try:
            next(iterator)
        except StopIteration:
            break
        drawn += 1
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    pairs_drawn = drawn * args.batch_size
    print(machine_line())
    print(f"{args.dataset}: {drawn} batches of {args.batch_size} pairs at {args.input_shape} "
          f"in {wall:.1f} s: {pairs_drawn / wall:.2f} pairs/s, "
          f"{cpu / max(pairs_drawn, 1):.3f} CPU-s/pair")
    return 0


if __name__ == "__main__":
    sys.exit(main())
