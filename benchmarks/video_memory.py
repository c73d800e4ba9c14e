"""Memory and time of ``syrac count`` on long 1080p videos: flat in the video's length.

Not a test: it prints a table. It generates 1920x1080 H.264 videos at 25 frames per second
(a noise texture panning sideways under moving bright blobs, encoded with libx264's
``ultrafast`` preset) of each length in ``--minutes``, then, in interleaved rounds, runs the
count command on each in a fresh process at the default cadence (one frame per second) with a
tiny counter, as ``.keras`` (TensorFlow) and as ``.onnx`` (ONNX Runtime, TensorFlow never
imported), so that what is measured is the command's own reading, batching and writing, not
the encoder. Each process reports its peak resident memory (``ru_maxrss``), wall and CPU
seconds, and how many frames it decoded and counted. With the CPU-seconds per image of the
ResNet50 counter from ``benchmarks/counting_runtimes.py``, the last line estimates one hour.

    python benchmarks/video_memory.py                      # 0.5, 2 and 4 minutes
    python benchmarks/video_memory.py --minutes 1 8 --rounds 1
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

FPS = 25
HEIGHT, WIDTH = 1080, 1920


def _frames(count, seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    texture = (rng.random((HEIGHT, WIDTH + 64, 3)) * 90).astype(np.uint8)
    blobs = rng.uniform([0, 0], [HEIGHT - 40, WIDTH - 40], size=(30, 2)).astype(int)
    for index in range(count):
        frame = np.ascontiguousarray(np.roll(texture, index * 2, axis=1)[:, :WIDTH])
        for row, col in blobs:
            col = (col + 5 * index) % (WIDTH - 40)
            frame[row:row + 40, col:col + 40] = 230
        yield frame


def make_video(path, minutes):
    from syrac.fixtures import write_video

    if not os.path.exists(path):
        write_video(path + ".partial.mp4", _frames(int(minutes * 60 * FPS)), FPS, "libx264",
                    {"preset": "ultrafast", "crf": "28"})
        os.replace(path + ".partial.mp4", path)
    return path


def worker(video, model, out):
    """Count one video in this process; print peak memory, times and frames as JSON."""
    from syrac.__main__ import main as syrac_main

    wall, cpu = time.perf_counter(), time.process_time()
    syrac_main(["count", video, "--model", model, "--out", out, "--quiet"])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    (run,) = [os.path.join(out, name) for name in os.listdir(out)]
    with open(os.path.join(run, "counts.json"), encoding="utf-8") as handle:
        (record,) = json.load(handle)["videos"]
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"peak_mib": peak_kib / 1024, "wall": wall, "cpu": cpu,
                      "decoded": record["frames_decoded"], "counted": len(record["frames"])}))


def tiny_counters(folder):
    """The tiny counter as ``.keras`` (TensorFlow) and ``.onnx`` (ONNX Runtime)."""
    import numpy as np

    from syrac.count.counter import PatchCounter, export_for_runtime
    from syrac.rank.backbones import build_encoder

    paths = {"tensorflow": os.path.join(folder, "tiny_counter.keras"),
             "onnxruntime": os.path.join(folder, "tiny_counter.onnx")}
    if not all(os.path.exists(path) for path in paths.values()):
        encoder = build_encoder("tiny_cnn", [32, 48, 3], None)
        counter = PatchCounter(encoder, n=2, image_shape=[32, 48, 3],
                               head_weights=np.full(int(encoder.output_shape[-1]), 0.01))
        counter(np.zeros([1, 32, 48, 3], np.float32))
        counter.save(paths["tensorflow"])
        export_for_runtime(counter, paths["onnxruntime"], "onnx")
    return paths


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[0.5, 2, 4])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--folder", help="keep the videos here (default: a temporary folder)")
    parser.add_argument("--resnet50_cpu_seconds_per_image", type=float, default=None,
                        help="from benchmarks/counting_runtimes.py, for the one-hour estimate")
    parser.add_argument("--worker", nargs=3, metavar=("VIDEO", "MODEL", "OUT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(*args.worker)
    from benchmarks.measuring import processor_name

    holder = None if args.folder else tempfile.TemporaryDirectory()
    folder = args.folder or holder.name
    os.makedirs(folder, exist_ok=True)
    models = tiny_counters(folder)
    videos = {}
    for minutes in args.minutes:
        start = time.perf_counter()
        videos[minutes] = make_video(os.path.join(folder, f"pan_{minutes:g}min.mp4"), minutes)
        print(f"{videos[minutes]}: {os.path.getsize(videos[minutes]) / 2**20:.0f} MiB "
              f"(made in {time.perf_counter() - start:.0f} s)", file=sys.stderr, flush=True)
    results = {(runtime, minutes): [] for runtime in models for minutes in args.minutes}
    for round_number in range(args.rounds):
        for runtime, minutes in results:
            with tempfile.TemporaryDirectory() as out:
                completed = subprocess.run(
                    [sys.executable, os.path.abspath(__file__), "--worker", videos[minutes],
                     models[runtime], out], capture_output=True, text=True, check=True)
            results[runtime, minutes].append(
                json.loads(completed.stdout.strip().splitlines()[-1]))
        print(f"round {round_number + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    print(f"{processor_name()}, {os.cpu_count()} CPU(s); {WIDTH}x{HEIGHT} H.264 at {FPS} fps, "
          f"one frame counted per second, tiny counter; medians of {args.rounds} rounds")
    print(f"{'runtime':<13}{'minutes':>8}{'frames':>9}{'counted':>9}{'peak MiB':>10}"
          f"{'wall s':>9}{'CPU s':>8}")
    marginal = []
    for runtime in models:
        rows = []
        for minutes in args.minutes:
            runs = results[runtime, minutes]
            peak = statistics.median(r["peak_mib"] for r in runs)
            wall = statistics.median(r["wall"] for r in runs)
            cpu = statistics.median(r["cpu"] for r in runs)
            rows.append((runs[0]["decoded"], cpu))
            print(f"{runtime:<13}{minutes:>8g}{runs[0]['decoded']:>9}{runs[0]['counted']:>9}"
                  f"{peak:>10.0f}{wall:>9.1f}{cpu:>8.1f}")
        if len(rows) > 1:  # the cost of one more frame: start-up costs cancel out
            marginal.append((rows[-1][1] - rows[0][1]) / (rows[-1][0] - rows[0][0]))
    per_frame = statistics.median(marginal) if marginal else rows[-1][1] / rows[-1][0]
    print(f"CPU per decoded frame beyond start-up (longest minus shortest video): "
          f"{1000 * per_frame:.2f} ms")
    hour_decoding = 3600 * FPS * per_frame
    line = (f"one hour of 1080p at {FPS} fps: about {hour_decoding / 60:.0f} CPU-minutes to read "
            f"and sample its {3600 * FPS} frames")
    if args.resnet50_cpu_seconds_per_image:
        counting = 3600 * args.resnet50_cpu_seconds_per_image
        line += (f", plus {counting / 60:.0f} CPU-minutes to count its 3600 sampled frames with "
                 f"the ResNet50 counter")
    print(line)
    if holder:
        holder.cleanup()


if __name__ == "__main__":
    main()
