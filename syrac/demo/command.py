"""``python -m syrac demo``: SYRAC end to end on a toy crowd world, with numbers.

Command::

    python -m syrac demo              # about 9 minutes on a 2-core CPU
    python -m syrac demo --quick      # under 2 minutes, smaller world and images
    python -m syrac demo --seeds 0 1 2 --figures_dir figures/   # the README's table

What it does, for each seed:

1. draws the toy world (:mod:`syrac.toy_world`) into ``--cache`` unless it is there already;
2. pre-trains the ranking encoder on the world's people-removed pairs with the library function
   ``train_wrapper.py --experiment training/baseline`` runs (:mod:`syrac.rank.pretraining`;
   parameters ``config/demo.yaml``, or ``config/demo_quick.yaml`` with ``--quick``);
3. for each encoder to compare, fits the count probe on the noisy synthetic images and evaluates
   it on the benchmark with the Count step ``finetune_wrapper.py`` runs (:mod:`syrac.count.step`;
   its figures go where that step puts them);
4. scores every predictor's ranking of the held-out pairs with its count (rank accuracy).

The encoders: the ranking-pre-trained one; the same network untrained (exactly the weights the
pre-training started from, when it started from random weights); and, when ImageNet weights are at
hand (``--imagenet_weights`` or Keras's cache), the ImageNet encoder before ranking (the
pre-training then starts from it, as in the paper). A last row predicts the mean noisy label.

Outputs go to ``--out`` (default ``demo/syrac_demo/<full|quick>``): ``world_samples.png``,
``runs/`` (pre-training run folders), ``encoders/<id>/`` (the untrained encoders),
``seed_<s>.<id>.json`` (one per finished seed: an interrupted demo resumes after the last
finished seed, and a killed pre-training resumes where it stopped), and ``results.<timestamp>.json`` / ``.md`` /
``comparison.<timestamp>.png``, never overwritten.

Runtime on 2 CPU cores: the default about 9 minutes for one seed (8 min 50 s measured, drawing
the world included; about 8 minutes for each further seed); ``--quick`` under 2 minutes
(1 min 50 s measured, an installation check whose numbers are too noisy to mean anything).
What to expect: the table of the README: the ranking-pre-trained encoder has a clearly lower
benchmark MAE than the same encoder untrained, which does no better than predicting the mean.
"""

import argparse
import dataclasses
import hashlib
import json
import os
import shutil
import sys

import numpy as np

from syrac.common.config import PACKAGED_CONFIG_DIR, load_params, parse_overrides
from syrac.common.errors import SyracError
from syrac.common.files import cache_folder, read_json, timestamp, write_json_atomic
from syrac.common.numbers import integer, number
from syrac.common.output_folders import OutputFolder
from syrac.demo.comparison import markdown_table, rank_accuracy, summarise
from syrac.rank.run_folder import RunFolder
from syrac.toy_world.world import (
    BENCH,
    NOISY,
    RANK,
    WorldConfig,
    load_or_generate_world,
)

CONFIG_DIR = PACKAGED_CONFIG_DIR
TRAINING_EXPERIMENT = "training/baseline"
KERAS_IMAGENET_FILE = os.path.join(
    "~", ".keras", "models", "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"
)

PRESETS = {
    "full": (WorldConfig(), "demo"),
    "quick": (WorldConfig(height=64, width=85, rank_scenes=64, noisy_per_count=3,
                          bench_images=30), "demo_quick"),
}
ROW_LABELS = {
    "ranked": "ranking-pre-trained encoder",
    "imagenet": "ImageNet encoder, before ranking",
    "untrained": "same encoder, untrained (random init)",
    "mean": "predict the mean noisy label",
}


def parser(prog="python -m syrac demo"):
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Run SYRAC (synthesize, rank, count) on a generated toy crowd world and "
                    "compare the ranking-pre-trained encoder with untrained baselines.",
    )
    parser.add_argument("--quick", action="store_true",
                        help="smaller world, 64x85 images, fewer steps (under 2 minutes)")
    parser.add_argument("--seeds", type=integer, nargs="+", default=[0],
                        help="pre-training seeds; the table gives mean ± spread over them")
    parser.add_argument("--out", default=None, action=OutputFolder,
                        help="output folder (default demo/syrac_demo/<full|quick>)")
    parser.add_argument("--cache", default=cache_folder("toy_world"), action=OutputFolder,
                        help="where toy worlds are kept, one folder per configuration "
                             "(default: %(default)s, the project's one cache)")
    parser.add_argument("--world_seed", type=integer, default=0, help="seed of the toy world")
    parser.add_argument("--noise_scale", type=number, default=1.0,
                        help="multiplies the spread of the noisy counts around the asked N "
                             "(0: exact labels; see syrac/toy_world/noise_model.py)")
    parser.add_argument("--size", type=integer, nargs=2, metavar=("HEIGHT", "WIDTH"),
                        help="image and input size (default 96 128, or 64 85 with --quick)")
    parser.add_argument("--N", type=integer, default=1,
                        help="patches per side when counting benchmark images (default 1: "
                             "toy benchmark images are no larger than the generated ones)")
    parser.add_argument("--imagenet_weights", default=None, metavar="H5",
                        help="local ResNet50 no-top ImageNet weights (.h5); default: Keras's "
                             f"cache file {KERAS_IMAGENET_FILE} when it exists")
    parser.add_argument("--set", nargs="*", action="extend", default=[], metavar="KEY=VALUE",
                        help="override pre-training/probe parameters, e.g. --set epochs=2")
    parser.add_argument("--figures_dir", default=None, action=OutputFolder,
                        help="also copy the sample sheet and the results plot here")
    parser.add_argument("--fresh", action="store_true",
                        help="ignore finished seeds of an earlier demo with the same settings")
    return parser


def _check_arguments(args):
    if len(set(args.seeds)) != len(args.seeds) or min(args.seeds) < 0:
        raise SyracError(f"--seeds must be distinct non-negative integers. Received: {args.seeds}")
    if args.N < 1:
        raise SyracError(f"--N must be a positive integer. Received: N={args.N}")
    if args.size is not None and min(args.size) < 16:
        raise SyracError(f"--size must be at least 16 16. Received: {args.size}")
    if args.imagenet_weights and not os.path.isfile(args.imagenet_weights):
        raise SyracError(f"--imagenet_weights {args.imagenet_weights}: no such file")


def imagenet_weights(args):
    """The local ImageNet weights file to use, or None (this machine cannot download them)."""
    if args.imagenet_weights:
        return os.path.abspath(args.imagenet_weights)
    cached = os.path.expanduser(KERAS_IMAGENET_FILE)
    return cached if os.path.isfile(cached) else None


def pretrain(data_dir, demo_dir, params_name, overrides, seed):
    """The Rank step, as ``train_wrapper.py --experiment training/baseline`` runs it."""
    from syrac.rank.pretraining import run_pretraining
    from syrac.rank.request import PretrainRequest

    return run_pretraining(PretrainRequest(
        experiment=TRAINING_EXPERIMENT, params_dir=CONFIG_DIR, params=params_name,
        dataset=RANK, data_dir=data_dir, experiment_dir=os.path.join(demo_dir, "runs"),
        experiment_name="toy", index=seed, seed=seed, set=list(overrides),
    ))


def count(data_dir, encoder_path, params_name, overrides, n, seed):
    """The Count step (probe fit, then evaluation on the benchmark); return its outcome."""
    from syrac.count.step import CountRequest, run_count_step

    parsed = parse_overrides(overrides)
    params, params_file = load_params(CONFIG_DIR, params_name, parsed)
    return run_count_step(CountRequest(
        checkpoint=os.path.abspath(encoder_path), data_dir=data_dir, params=params,
        params_file=params_file, train_data=NOISY, test_data=BENCH, N=n,
        overrides=parsed, seed=seed,
        recorded_args={"command": "python -m syrac demo", "params": params_name},
    ))


def held_out_rank_accuracy(encoder_path, probe, pairs, params):
    """How often the probe counts a held-out source above its target."""
    from syrac.count.core import CountSettings
    from syrac.count.encoder_loading import load_encoder
    from syrac.count.features import extract_features

    encoder = load_encoder(encoder_path)
    paths = sorted({path for pair in pairs for path in pair})
    settings = CountSettings.from_params(params, input_shape=probe.record.input_shape,
                                         preprocessing=probe.record.preprocessing)
    features = extract_features(encoder, paths, list(settings.input_shape),
                                settings.probe_batch_size, settings.preprocessing,
                                progress=False)
    score = dict(zip(paths, probe.predict(features)))
    return rank_accuracy([score[s] for s, _ in pairs], [score[t] for _, t in pairs])


def mean_predictor(data_dir):
    """Metrics of predicting the mean noisy label for every benchmark image."""
    from syrac.common.annotations import load_count_set
    from syrac.count.metrics import count_metrics

    labels = [label for _, label in load_count_set(data_dir, NOISY)]
    truth = np.asarray([c for _, c in load_count_set(data_dir, BENCH, split="test")])
    predictions = np.full(truth.shape, np.mean(labels))
    metrics = count_metrics(predictions, truth)
    return {"mae": metrics["mae"], "rmse": metrics["rmse"], "rank_accuracy": 0.5,
            "predictions": predictions.tolist(), "counts": truth.tolist()}


def run_seed(seed, data_dir, demo_dir, params, params_name, overrides, n, imagenet, digest):
    """Pre-train with one seed and score every predictor; return ``{row: metrics}``.

    The untrained encoders are kept under ``encoders/<digest>/``, so a demo with other settings
    in the same folder never picks up an encoder of another shape or initialisation.
    """
    from syrac.common.annotations import load_ranking_set
    from syrac.rank.training import save_initial_encoder

    if imagenet:
        overrides = [*overrides, f"weights={imagenet}"]
    run_dir = pretrain(data_dir, demo_dir, params_name, overrides, seed)
    encoders = {"ranked": RunFolder(run_dir).last_checkpoint()}
    if imagenet:
        encoders["imagenet"] = save_initial_encoder(
            {**params, "weights": imagenet}, seed,
            os.path.join(demo_dir, "encoders", digest, "imagenet.keras"))
    encoders["untrained"] = save_initial_encoder(
        {**params, "weights": None}, seed,
        os.path.join(demo_dir, "encoders", digest, f"untrained.seed{seed}.keras"))
    held_out = load_ranking_set(data_dir, RANK)["val"]
    rows = {}
    for row, path in encoders.items():
        print(f"\n== seed {seed}: {ROW_LABELS[row]} ({path})")
        outcome = count(data_dir, path, params_name, overrides, n, seed)
        rows[row] = {
            "mae": outcome.metrics["mae"], "rmse": outcome.metrics["rmse"],
            "rank_accuracy": held_out_rank_accuracy(path, outcome.probe, held_out, params),
            "encoder": path, "results": outcome.results_path,
            "predictions": outcome.predictions, "counts": outcome.counts,
        }
    rows["mean"] = mean_predictor(data_dir)
    return {"seed": seed, "run_dir": run_dir, "rows": rows}


def _identity(world, params, n, imagenet):
    """What makes two demos comparable; finished seeds are reused only for the same identity
    (the world, the resolved parameters, N and the ImageNet file)."""
    document = {"world": world.to_json(), "params": params, "N": n, "imagenet": imagenet}
    text = json.dumps(document, sort_keys=True)
    return document, hashlib.sha256(text.encode()).hexdigest()[:10]


def _copy_figure(source, folder, name):
    os.makedirs(folder, exist_ok=True)
    destination = os.path.join(folder, name)
    shutil.copyfile(source, destination)
    print(f"Copied {source} to {destination}")


def run(args):
    _check_arguments(args)
    preset = "quick" if args.quick else "full"
    world, params_name = PRESETS[preset]
    world = dataclasses.replace(world, seed=args.world_seed, noise_scale=args.noise_scale)
    overrides = list(args.set)
    if args.size:
        world = dataclasses.replace(world, height=args.size[0], width=args.size[1])
        overrides.append(f"input_shape=[{args.size[0]},{args.size[1]},3]")
    world.check()
    params, params_file = load_params(CONFIG_DIR, params_name, parse_overrides(overrides))
    imagenet = imagenet_weights(args)
    demo_dir = args.out or os.path.join("demo", "syrac_demo", preset)
    identity, digest = _identity(world, params, args.N, imagenet)
    print(f"SYRAC demo ({preset}): parameters {params_file}, output {demo_dir}")
    import tensorflow as tf  # only now: bad options are reported without loading TensorFlow

    from syrac.count.figures import encoder_comparison
    from syrac.toy_world.sample_sheet import sample_sheet

    tf.get_logger().setLevel("ERROR")  # each encoder is loaded anew: retracing is expected
    if imagenet is None:
        print("No ImageNet weights found: pre-training starts from random weights and the "
              "ImageNet row is left out (see --imagenet_weights).")

    data_dir = load_or_generate_world(args.cache, world)
    os.makedirs(demo_dir, exist_ok=True)
    stamp = timestamp()
    sheet = sample_sheet(data_dir, os.path.join(demo_dir, f"world_samples.{stamp}.png"))

    per_seed = []
    for seed in args.seeds:
        record_path = os.path.join(demo_dir, f"seed_{seed}.{digest}.json")
        record = None if args.fresh else read_json(record_path, default=None)
        if record is not None:
            print(f"Seed {seed}: reusing the finished run recorded in {record_path}")
        else:
            record = run_seed(seed, data_dir, demo_dir, params, params_name, overrides,
                              args.N, imagenet, digest)
            write_json_atomic(record_path, {**record, "identity": identity})
        per_seed.append(record)

    table_rows = {row: [r["rows"][row] for r in per_seed if row in r["rows"]]
                  for row in ROW_LABELS}
    summary = summarise({row: runs for row, runs in table_rows.items() if runs})
    labels = {row: label for row, label in ROW_LABELS.items() if row in summary}
    table = markdown_table(summary, labels)
    command = "python -m syrac demo " + " ".join(sys.argv[2:]) if sys.argv[1:2] == ["demo"] \
        else "python -m syrac demo"
    heading = (f"Toy world {world.height}x{world.width}, benchmark of {world.bench_images} "
               f"images (counts 0-{world.max_people}), N={args.N}, seeds {args.seeds}; "
               f"mean ± sample standard deviation over seeds.")
    plot = encoder_comparison(
        summary, labels,
        {row: (table_rows[row][-1]["counts"], table_rows[row][-1]["predictions"])
         for row in labels},
        os.path.join(demo_dir, f"comparison.{stamp}.png"), title=heading)
    with open(os.path.join(demo_dir, f"results.{stamp}.md"), "x", encoding="utf-8") as handle:
        handle.write(f"{heading}\n\nCommand: `{command}`\n\n{table}\n")
    write_json_atomic(os.path.join(demo_dir, f"results.{stamp}.json"), {
        "command": command, "identity": identity, "summary": summary, "seeds": per_seed,
        "figures": {"world_samples": sheet, "comparison": plot}})
    if args.figures_dir:
        _copy_figure(sheet, args.figures_dir, "toy_world_samples.png")
        _copy_figure(plot, args.figures_dir, "demo_results.png")
    print(f"\n{heading}\n\n{table}\n\nResults: {os.path.join(demo_dir, f'results.{stamp}.md')}")
