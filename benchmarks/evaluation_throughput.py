"""Throughput of the count step: patch-wise evaluation for N = 1..4, and fitting the probe.

Not a test: it prints a table. Images are synthetic crowds written to a temporary folder, the
encoder has random weights (the cost of a forward pass does not depend on them), saved as a
``.keras`` file and read back through :func:`syrac.count.encoder_loading.load_encoder` like a real
checkpoint. Tracing is done before timing.

    python benchmarks/evaluation_throughput.py                      # 224x224, ResNet50
    python benchmarks/evaluation_throughput.py --height 640 --width 853 --images 4
"""

import argparse
import os
import platform
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tensorflow as tf  # noqa: E402

from syrac.common.annotations import load_count_set  # noqa: E402
from syrac.count.encoder_loading import load_encoder  # noqa: E402
from syrac.count.evaluation import evaluate_patchwise  # noqa: E402
from syrac.count.features import extract_features  # noqa: E402
from syrac.count.probe import CountProbe  # noqa: E402
from syrac.fixtures import make_count_set  # noqa: E402
from syrac.rank.backbones import build_encoder  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--height", type=int, default=224, help="input height (default 224)")
    parser.add_argument("--width", type=int, default=224, help="input width (default 224)")
    parser.add_argument("--model_name", default="resnet50", choices=["resnet50", "vgg16"])
    parser.add_argument("--eval_batch_size", type=int, default=16,
                        help="patches per forward pass during evaluation (default 16)")
    parser.add_argument("--probe_batch_size", type=int, default=3,
                        help="images per forward pass when extracting probe features (default 3)")
    parser.add_argument("--images", type=int, default=8, help="test images (default 8)")
    parser.add_argument("--train_images", type=int, default=12,
                        help="noisy synthetic images the probe is fitted on (default 12)")
    parser.add_argument("--grids", type=int, nargs="+", default=[1, 2, 3, 4],
                        help="values of N to time (default 1 2 3 4)")
    parser.add_argument("--preprocessing", default="resnet_v2", choices=["resnet_v2", "caffe"])
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    shape = [args.height, args.width, 3]
    with tempfile.TemporaryDirectory() as folder:
        size = (args.height, args.width)
        make_count_set(folder, "synth", images=args.train_images, size=size, max_people=40)
        make_count_set(folder, "bench", images=args.images, size=size, split="test",
                       seed=2, max_people=40)
        checkpoint = os.path.join(folder, "encoder.keras")
        build_encoder(args.model_name, shape, None).save(checkpoint)
        encoder = load_encoder(checkpoint)
        # Trace the forward pass for a full batch and for a remainder batch before timing.
        for batch in {args.eval_batch_size, args.probe_batch_size, 1}:
            encoder(tf.zeros([batch, *shape]))

        train = load_count_set(folder, "synth")
        start = time.perf_counter()
        features = extract_features(encoder, [p for p, _ in train], shape,
                                    args.probe_batch_size, args.preprocessing, progress=False)
        extraction = time.perf_counter() - start
        start = time.perf_counter()
        probe = CountProbe().fit(features, [c for _, c in train])
        nnls_seconds = time.perf_counter() - start

        test = load_count_set(folder, "bench", split="test")
        rows = []
        for n in args.grids:
            start = time.perf_counter()
            evaluate_patchwise(encoder, probe, test, shape, n, args.eval_batch_size,
                               args.preprocessing, progress=False)
            seconds = time.perf_counter() - start
            patches = len(test) * n * n
            rows.append((f"evaluate N={n}", len(test), patches, seconds,
                         len(test) / seconds, patches / seconds))

    print(f"{args.model_name} at {args.height}x{args.width}, eval_batch_size "
          f"{args.eval_batch_size}, probe_batch_size {args.probe_batch_size}, "
          f"TensorFlow {tf.__version__} on {platform.machine()} with {os.cpu_count()} CPU(s), "
          f"GPUs: {len(tf.config.list_physical_devices('GPU'))}")
    header = (f"{'stage':<28}{'images':>8}{'patches':>9}{'seconds':>10}{'images/s':>10}"
              f"{'patches/s':>11}")
    print(header)
    print("-" * len(header))
    for name, images, patches, seconds, image_rate, patch_rate in rows:
        print(f"{name:<28}{images:>8}{patches:>9}{seconds:>10.2f}{image_rate:>10.2f}"
              f"{patch_rate:>11.2f}")
    print(f"{'fit: feature extraction':<28}{len(features):>8}{'-':>9}{extraction:>10.2f}"
          f"{len(features) / extraction:>10.2f}{'-':>11}")
    print(f"{'fit: NNLS (' + str(features.shape[1]) + '-d)':<28}{len(features):>8}{'-':>9}"
          f"{nnls_seconds:>10.4f}{'-':>10}{'-':>11}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
