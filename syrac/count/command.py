"""``python -m syrac count PATH... --model MODEL [--N 2] [--out DIR]``: count people in images and videos.

    python -m syrac count photos/ more/*.jpg --model runs/X/best_model_05.keras --N 2
    python -m syrac count cctv.mp4 --model counter.onnx --every 2

``PATH`` can be image or video files, folders (searched recursively) or glob patterns; images
(JPEG, PNG, GIF, BMP, TIFF) and videos (MP4, MOV, MKV, WebM, AVI) are told by their content.
``MODEL`` is an exported counter (``python -m syrac export``: ``.keras``, ``.onnx`` for ONNX
Runtime, ``.tflite`` for LiteRT) or a ``.keras`` pre-training checkpoint whose probe was fitted
(``finetune_wrapper.py``). Each image, and each sampled video frame (one per ``--every``
seconds, or every ``--every_frame``-th frame), is counted as the Count step does (an N x N grid
of patches, summed). An image prints ``path<TAB>count``; a video prints its mean, its maximum
and when that was reached.

A run writes into a new folder ``DIR/<YYYY-mm-dd-HH-MM-SS>/`` (default ``DIR`` = ``counts``):
``counts.csv`` (one row per image and per counted frame), ``counts.json``, one PNG per image
with the grid and each patch's count, per video a plot of the count over time and a contact
sheet, and ``index.html``, a page to look through it all. A run killed or interrupted is taken
up by the same command run again (:mod:`syrac.count.count_run`): what was counted is kept. With ``--map``, each image's figure
also shows where the count lies (:mod:`syrac.count.count_map`), saved as ``<figure>.map.npy``.
A file that cannot be read, a file named like an image or video that is not one, and a video
that breaks off are named (a broken video's readable frames are still counted), listed again at
the end, and the exit status is then 2.
"""

import argparse
import os

from syrac.common.errors import SyracError, listed
from syrac.common.numbers import number, positive_integer
from syrac.common.output_folders import CommandParser, OutputFolder
from syrac.count.count_map import DEFAULT_STRIDE


def parser(prog):
    result = CommandParser(prog=prog, description=__doc__.split("\n\n")[0].replace("``", ""),
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    result.add_argument("paths", nargs="+", metavar="PATH",
                        help="image or video files, folders (recursive) or glob patterns")
    result.add_argument("--model", required=True,
                        help="an exported counter (.keras, .onnx, .tflite) or a pre-training "
                             "checkpoint with its fitted probe")
    result.add_argument("--N", type=positive_integer, default=None,
                        help="patches per side (default: the counter's, or 1 for a checkpoint)")
    result.add_argument("--out", default="counts", action=OutputFolder,
                        help="each run writes a new timestamped folder in here (default: counts)")
    result.add_argument("--every", type=number, default=1.0, metavar="SECONDS",
                        help="videos: count one frame per SECONDS of video (default 1)")
    result.add_argument("--every_frame", type=positive_integer, default=None, metavar="K",
                        help="videos: count every K-th frame instead of --every")
    result.add_argument("--batch_size", type=positive_integer, default=1,
                        help="video frames counted together (default 1: on a CPU more is no "
                             "faster, and each 640x853 frame at N=2 holds about 0.9 GB of "
                             "activations; raise it on a GPU)")
    result.add_argument("--map", action="store_true",
                        help="also draw where the count lies: overlapping windows of the patch "
                             "size, (4N-3)^2 per image at the default stride; saved as .npy")
    result.add_argument("--map_stride", type=number, default=DEFAULT_STRIDE,
                        help="the windows' step, in patches (default %(default)s)")
    result.add_argument("--quiet", action="store_true", help="no progress bar")
    return result


def _check(args):
    if not 0 < args.map_stride <= 1:
        raise SyracError(f"--map_stride must be in (0, 1] (a share of the patch). "
                         f"Received: {args.map_stride}")
    if not args.every > 0:
        raise SyracError(f"--every must be a positive number of seconds. Received: {args.every}")


def _request(args):
    """What this command asks, as the first line of the run's journal records it: an
    unfinished run asked the same is taken up by the same command run again."""
    return {"cwd": os.getcwd(), "paths": args.paths, "model": os.path.abspath(args.model),
            "N": args.N, "every": args.every, "every_frame": args.every_frame,
            "batch_size": args.batch_size, "map": args.map, "map_stride": args.map_stride}


def run(args):
    _check(args)
    from syrac.count.media import find_media

    media, failures = find_media(args.paths)
    if not media:
        raise SyracError("nothing to count: " + listed(f"{p} ({why})" for p, why in failures))
    from syrac.count.runtimes import open_counter

    counter = open_counter(args.model, args.N)
    if args.map and not counter.supports_map:
        raise SyracError(f"--map needs a .keras counter or checkpoint (the map counts windows "
                         f"with the encoder itself); --model {args.model} runs on "
                         f"{counter.runtime}")
    from syrac.common.progress import progress_bar
    from syrac.count.count_run import CountRun
    from syrac.count.counting import count_image, count_video

    sampling = {"every_seconds": None if args.every_frame else args.every,
                "every_frame": args.every_frame}
    run_folder = CountRun.start(args.out, _request(args), counter)
    if run_folder.resumed or run_folder.partial_frames:
        print(f"Taking up the unfinished run {run_folder.folder}: {run_folder.resumed} file(s) "
              f"counted before it stopped")
    bar = progress_bar(len(media), "files", enabled=not args.quiet and len(media) > 1)
    for done, medium in enumerate(media, start=1):
        if run_folder.counted(os.path.abspath(medium.path)):
            pass  # counted before the run was killed
        elif medium.kind == "video":
            count_video(medium.path, counter, run_folder, sampling, batch_size=args.batch_size)
        else:
            count_image(medium.path, counter, run_folder,
                        args.map_stride if args.map else None)
        bar.update(done)
    run_folder.failures[:0] = failures
    run_folder.finish()
    print(f"{len(run_folder.images)} image(s) and {len(run_folder.videos)} video(s) counted; "
          f"results in {run_folder.folder} (open index.html)")
    if run_folder.failures:
        raise SyracError(f"{len(run_folder.failures)} file(s) could not be counted (in full): "
                         + listed(f"{p} ({why})" for p, why in run_folder.failures))

