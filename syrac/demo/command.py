"""``python -m syrac demo``: SYRAC end to end on a toy crowd world, with numbers.

Command::

    python -m syrac demo              # under 10 minutes on a 2-core CPU
    python -m syrac demo --quick      # under 2 minutes, smaller world and images
    python -m syrac demo --seeds 0 1 2 --figures_dir figures/   # the README's table

The demo is a results table (:mod:`syrac.table`) of the recipe ``config/recipes/demo.yaml``
(``demo_quick.yaml`` with ``--quick``), amended by the demo's options; ``python -m syrac table``
on that recipe gives the same numbers from the same cells. For each seed the table's build:

1. draws the toy world (:mod:`syrac.toy_world`) into ``--cache`` unless it is there already;
2. pre-trains the ranking encoder on the world's people-removed pairs with the library function
   ``train_wrapper.py --experiment training/baseline`` runs (parameters ``config/demo.yaml``,
   or ``config/demo_quick.yaml`` with ``--quick``);
3. for each encoder, fits the count probe on the noisy synthetic images and counts the
   benchmark with the Count step's core (:mod:`syrac.count.core`);
4. scores every predictor's ordering of the held-out ranking pairs with its count (rank
   accuracy).

The rows: the ranking-pre-trained encoder; the same network untrained (exactly the weights the
pre-training started from, when it started from random weights); when ImageNet weights are at
hand (``--imagenet_weights`` or Keras's cache), the ImageNet encoder before ranking (the
pre-training then starts from it, as in the paper); and the mean noisy label as a predictor.

Outputs go to ``--out`` (default ``demo/syrac_demo/<full|quick>``), a table folder:
``recipe.yaml`` (the recipe the demo ran, with its options applied), ``table.md`` / ``.csv`` /
``.tex`` / ``.json`` and ``figure.toy_bench.png`` (rewritten from the cells by each run),
``runs/`` (pre-training run folders), ``encoders/`` (the untrained encoders), ``probes/`` and
``cells/`` (never rewritten), and ``world_samples.<time>.png``. A demo started again reuses
every finished pre-training, probe and cell, and resumes a killed pre-training where it stopped.
"""

import os
import shutil
import sys

import yaml

from syrac.common.config import PACKAGED_CONFIG_DIR, load_params, parse_overrides
from syrac.common.errors import SyracError
from syrac.common.files import cache_folder, timestamp, write_atomic
from syrac.common.numbers import integer, number, positive_integer, seed
from syrac.common.output_folders import CommandParser, OutputFolder

RECIPES_DIR = os.path.join(PACKAGED_CONFIG_DIR, "recipes")
KERAS_IMAGENET_FILE = os.path.join(
    "~", ".keras", "models", "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"
)
IMAGENET_ROW = "ImageNet encoder, before ranking"
UNTRAINED_ROW = "same encoder, untrained (random init)"


def parser(prog="python -m syrac demo"):
    parser = CommandParser(
        prog=prog,
        description="Run SYRAC (synthesize, rank, count) on a generated toy crowd world and "
                    "compare the ranking-pre-trained encoder with untrained baselines.",
    )
    parser.add_argument("--quick", action="store_true",
                        help="smaller world, 64x85 images, fewer steps (under 2 minutes)")
    parser.add_argument("--seeds", type=seed, nargs="+", default=None,
                        help="pre-training seeds; the table gives mean ± sd over them "
                             "(default: the recipe's, 0)")
    parser.add_argument("--out", default=None, action=OutputFolder,
                        help="output folder (default demo/syrac_demo/<full|quick>)")
    parser.add_argument("--cache", default=cache_folder("toy_world"), action=OutputFolder,
                        help="where toy worlds are kept, one folder per configuration "
                             "(default: %(default)s, the project's one cache)")
    parser.add_argument("--world_seed", type=seed, default=None,
                        help="seed of the toy world (default: the recipe's, 0)")
    parser.add_argument("--noise_scale", type=number, default=None,
                        help="multiplies the spread of the noisy counts around the asked N "
                             "(0: exact labels; see syrac/toy_world/noise_model.py)")
    parser.add_argument("--size", type=integer, nargs=2, metavar=("HEIGHT", "WIDTH"),
                        help="image and input size (default 96 128, or 64 85 with --quick)")
    parser.add_argument("--N", type=positive_integer, default=None,
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
                        help="pre-train again instead of reusing finished runs of an earlier "
                             "demo in --out (probes and cells are reused only when their "
                             "encoder comes out byte for byte the same)")
    return parser


def _check_arguments(args):
    if args.seeds is not None and (len(set(args.seeds)) != len(args.seeds)
                                   or min(args.seeds) < 0):
        raise SyracError(f"--seeds must be distinct non-negative integers. Received: {args.seeds}")
    if args.size is not None and min(args.size) < 32:
        raise SyracError(f"--size must be at least 32 32 (the encoder's smallest input). "
                         f"Received: {args.size}")
    if args.imagenet_weights and not os.path.isfile(args.imagenet_weights):
        raise SyracError(f"--imagenet_weights {args.imagenet_weights}: no such file")


def imagenet_weights(args):
    """The local ImageNet weights file to use, or None (this machine cannot download them)."""
    if args.imagenet_weights:
        return os.path.abspath(args.imagenet_weights)
    cached = os.path.expanduser(KERAS_IMAGENET_FILE)
    return cached if os.path.isfile(cached) else None


def recipe_file(args):
    return os.path.join(RECIPES_DIR, "demo_quick.yaml" if args.quick else "demo.yaml")


def demo_document(args, imagenet):
    """The demo's recipe mapping with its options applied; relative paths made absolute, so
    the mapping means the same wherever it is written."""
    from syrac.table.recipe import read_recipe_document

    path = recipe_file(args)
    document = read_recipe_document(path)
    base = os.path.dirname(path)
    document["params_dir"] = os.path.normpath(os.path.join(base, document["params_dir"]))
    world = dict(document["toy_world"], cache=os.path.abspath(args.cache))
    overrides = list(document.get("set", []))
    if args.world_seed is not None:
        world["seed"] = args.world_seed
    if args.noise_scale is not None:
        world["noise_scale"] = args.noise_scale
    if args.size:
        world["height"], world["width"] = args.size
        overrides.append(f"input_shape=[{args.size[0]},{args.size[1]},3]")
    document["toy_world"] = world
    if args.seeds is not None:
        document["seeds"] = list(args.seeds)
    if args.N is not None:
        document["N"] = [args.N]
        document["selection"] = dict(document["selection"], N=args.N)
    overrides += args.set
    if imagenet:
        overrides.append(f"weights={imagenet}")
        rows = []
        for row in document["encoders"]:
            if row.get("name") == UNTRAINED_ROW:
                rows.append({"name": IMAGENET_ROW, "untrained": True})
                row = dict(row, set=[*row.get("set", []), "weights=null"])
            rows.append(row)
        document["encoders"] = rows
    if overrides:
        document["set"] = overrides
    return document


def heading(recipe):
    """One line saying what the table was computed on."""
    world = recipe.toy_world[1]
    return (f"Toy world {world.height}x{world.width}, benchmark of {world.bench_images} images "
            f"(counts 0-{world.max_people}), N={recipe.fixed_n}, seeds {list(recipe.seeds)}; "
            f"mean ± sample standard deviation over seeds.")


def _copy_figure(source, folder, name):
    os.makedirs(folder, exist_ok=True)
    destination = os.path.join(folder, name)
    shutil.copyfile(source, destination)
    print(f"Copied {source} to {destination}")


def run(args):
    _check_arguments(args)
    preset = "quick" if args.quick else "full"
    imagenet = imagenet_weights(args)
    document = demo_document(args, imagenet)
    load_params(document["params_dir"], document["params"], parse_overrides(args.set))  # --set
    from syrac.table.recipe import recipe_from_document  # loads TensorFlow

    recipe = recipe_from_document(document, recipe_file(args))
    demo_dir = args.out or os.path.join("demo", "syrac_demo", preset)
    print(f"SYRAC demo ({preset}): recipe {recipe_file(args)}, output {demo_dir}")
    import tensorflow as tf  # only now: bad options are reported without loading TensorFlow

    from syrac.table.build import build_table
    from syrac.table.recipe import make_data
    from syrac.table.render import figure_name, main_table, table_document, write_table
    from syrac.toy_world.sample_sheet import sample_sheet

    tf.get_logger().setLevel("ERROR")  # each encoder is loaded anew: retracing is expected
    if imagenet is None:
        print("No ImageNet weights found: pre-training starts from random weights and the "
              "ImageNet row is left out (see --imagenet_weights).")
    make_data(recipe)
    os.makedirs(demo_dir, exist_ok=True)
    write_atomic(os.path.join(demo_dir, "recipe.yaml"),
                 (f"# The recipe of: python -m syrac demo {' '.join(sys.argv[2:])}\n"
                  + yaml.safe_dump(document, sort_keys=False)).encode("utf-8"))
    sheet = sample_sheet(recipe.data_dir,
                         os.path.join(demo_dir, f"world_samples.{timestamp()}.png"))
    choices = build_table(recipe, demo_dir, fresh=args.fresh)
    write_table(recipe, choices, [], demo_dir)
    table = "\n".join(main_table(recipe, table_document(recipe, choices, [])))
    if args.figures_dir:
        _copy_figure(sheet, args.figures_dir, "toy_world_samples.png")
        _copy_figure(os.path.join(demo_dir, figure_name(recipe.benchmarks[0].title)),
                     args.figures_dir, "demo_results.png")
    print(f"\n{heading(recipe)}\n\n{table}\n\nResults: {os.path.join(demo_dir, 'table.md')}")
