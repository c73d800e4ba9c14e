"""What the benchmarks share: FLOP counting, the matmul peak, the processor's name, interleaving.

Speed on the development machines is measured in CPU-seconds next to wall-clock rates, with
the settings compared timed in interleaved rounds (A B A B ...) and medians quoted, because a
shared virtual machine loses wall-clock cycles to throttling in spells.
"""

import os
import platform
import statistics
import sys
import time

import tensorflow as tf
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2


def forward_flops_per_image(model, input_shape):
    """Floating-point operations of one forward pass of ``model``, counted by the TF profiler."""
    function = tf.function(lambda x: model(x, training=False))
    concrete = function.get_concrete_function(tf.TensorSpec([1, *input_shape], tf.float32))
    frozen = convert_variables_to_constants_v2(concrete)
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    profile = tf.compat.v1.profiler.profile(graph=frozen.graph, options=options)
    return profile.total_float_ops


def matmul_peak_gflops(dtype=tf.float32, size=2048, repeats=10):
    """Best observed GFLOP/s of a square ``dtype`` matrix multiply on this machine."""
    a = tf.cast(tf.random.normal([size, size]), dtype)
    b = tf.cast(tf.random.normal([size, size]), dtype)
    multiply = tf.function(lambda: tf.matmul(a, b))
    multiply().numpy()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        multiply().numpy()
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def processor_name():
    """The processor's model name (``lscpu``'s "Model name"), or the machine type."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_line():
    """TensorFlow version, processor, CPU count and GPU count, for the head of a report."""
    return (f"TensorFlow {tf.__version__}, {processor_name()}, {os.cpu_count()} CPU(s), "
            f"GPUs: {len(tf.config.list_physical_devices('GPU'))}")


def peaks_line(peak32, peak16):
    """The measured matrix-multiply peaks, as the reports print them."""
    return (f"matmul peak {peak32:.0f} GFLOP/s float32, {peak16:.0f} GFLOP/s bfloat16 "
            "(2048x2048)")


def print_header(columns):
    """Print a table's header line (``columns``: ``(title, width, align)``) and its rule."""
    header = "".join(f"{title:{align}{width}}" for title, width, align in columns)
    print(header)
    print("-" * len(header))


def interleaved(runs, rounds):
    """Call every ``runs[setting]()`` once per round, settings in turn (A B A B ...).

    Returns ``{setting: (median wall seconds, median CPU seconds)}`` per call.
    """
    walls = {setting: [] for setting in runs}
    cpus = {setting: [] for setting in runs}
    for round_number in range(rounds):
        for setting, run in runs.items():
            wall, cpu = time.perf_counter(), time.process_time()
            run()
            walls[setting].append(time.perf_counter() - wall)
            cpus[setting].append(time.process_time() - cpu)
        print(f"round {round_number + 1}/{rounds} done", file=sys.stderr, flush=True)
    return {setting: (statistics.median(walls[setting]), statistics.median(cpus[setting]))
            for setting in runs}
