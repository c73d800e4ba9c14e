"""``python -m syrac prepare NAME ...``: one sub-command per benchmark, plus ``intra-rank``.

    python -m syrac prepare shanghaitech_a --src RAW --data_dir DATA [--out NAME] [--copy]
    python -m syrac prepare ucf_cc_50 --src RAW --data_dir DATA --fold 1
    python -m syrac prepare intra-rank --images FOLDER ... --data_dir DATA --out NAME

Each benchmark writes ``DATA/<NAME>/annotations.json`` with ``train``, ``val`` and ``test``
(see :mod:`syrac.prepare.benchmark`); ``intra-rank`` writes a ranking set of nested crops
(see :mod:`syrac.prepare.intra_rank`). Converters are imported only when asked for.
"""

import argparse
import importlib

from syrac.common.numbers import integer, number, seed
from syrac.common.output_folders import CommandParser, OutputFolder
from syrac.prepare.benchmark import default_out

# Sub-command name -> converter module (under syrac.prepare).
CONVERTERS = {
    "shanghaitech_a": "shanghaitech",
    "shanghaitech_b": "shanghaitech",
    "ucf_qnrf": "ucf_qnrf",
    "jhu_crowd": "jhu_crowd",
    "nwpu_crowd": "nwpu_crowd",
    "ucf_cc_50": "ucf_cc_50",
    "mall": "mall",
}
INTRA_RANK = "intra-rank"  # syrac.prepare.intra_rank.COMMAND_NAME


def converter(name):
    """The converter module of the sub-command ``name``."""
    return importlib.import_module(f"syrac.prepare.{CONVERTERS[name]}")


def _add_benchmark(subparsers, name):
    module = converter(name)
    default = default_out(module, {"dataset": name, "fold": "K"})
    parser = subparsers.add_parser(
        name,
        help=f"{module.DATASETS[name]}: raw download -> DATA/{default}/annotations.json",
        description=module.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--src", required=True, help="the unpacked raw download")
    parser.add_argument("--data_dir", required=True, action=OutputFolder,
                        help="the data folder the wrappers read (created if missing)")
    parser.add_argument("--out", default=None,
                        help=f"dataset folder name inside --data_dir (default: {default})")
    parser.add_argument("--copy", action="store_true",
                        help="copy the images into DATA/NAME/images/<split>/ instead of "
                             "referencing the raw files in place")
    parser.add_argument("--drop_outside", action="store_true",
                        help="drop head points outside their image (and lower the count); "
                             "by default they are kept and reported")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing DATA/NAME/annotations.json")
    if not module.OFFICIAL_VAL:
        parser.add_argument("--val_fraction", type=number, default=0.1,
                            help="share of train carved out as val, never from test "
                                 "(default 0.1; 0 for none)")
        parser.add_argument("--seed", type=seed, default=0,
                            help="seed of the val draw (default 0); the list is recorded in "
                                 "meta.val")
        parser.add_argument("--val_list", default=None, metavar="FILE",
                            help="use the train images named in FILE (one a line) as val "
                                 "instead of a draw")
    if hasattr(module, "add_options"):
        module.add_options(parser)


def _add_intra_rank(subparsers):
    module = importlib.import_module("syrac.prepare.intra_rank")
    default = module.default_of
    parser = subparsers.add_parser(
        INTRA_RANK,
        help="ranking pairs from unlabelled images by nested crops (Liu et al., CVPR 2018)",
        description=module.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--images", required=True, nargs="+", metavar="PATH",
                        help="image files or folders (searched recursively)")
    parser.add_argument("--data_dir", required=True, action=OutputFolder,
                        help="the data folder (created if missing)")
    parser.add_argument("--out", default=default("out"),
                        help="dataset folder name inside --data_dir (default: %(default)s)")
    parser.add_argument("--levels", type=integer, default=default("levels"),
                        help="nested regions a chain, the whole image included (default %(default)s)")
    parser.add_argument("--scale", type=number, default=default("scale"),
                        help="side ratio of a crop to the region it is cut from (default %(default)s)")
    parser.add_argument("--chains", type=integer, default=default("chains"),
                        help="independent chains of crops per image (default %(default)s)")
    parser.add_argument("--placement", choices=["random", "centre"], default=default("placement"),
                        help="where a crop sits in its region (default %(default)s)")
    parser.add_argument("--min_side", type=integer, default=default("min_side"),
                        help="smallest crop side in pixels; a chain stops before it (default %(default)s)")
    parser.add_argument("--val_fraction", type=number, default=default("val_fraction"),
                        help="share of the images (with all their crops) in val (default %(default)s, "
                             "at least one image)")
    parser.add_argument("--seed", type=seed, default=default("seed"), help="seed of crops and split (default %(default)s)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing DATA/NAME/annotations.json")


def parser(prog):
    """The parser of ``python -m syrac prepare``."""
    result = CommandParser(
        prog=prog,
        description="Turn a raw benchmark download into DATA/NAME/annotations.json (train, val, "
                    "test), or unlabelled images into a ranking set of nested crops. "
                    "'python -m syrac prepare NAME --help' shows the raw layout NAME expects.",
    )
    subparsers = result.add_subparsers(dest="dataset", required=True, metavar="NAME")
    for name in CONVERTERS:
        _add_benchmark(subparsers, name)
    _add_intra_rank(subparsers)
    return result


def run(args):
    """Prepare the dataset named by ``args.dataset``."""
    if args.dataset == INTRA_RANK:
        from syrac.prepare.intra_rank import IntraRankRequest, prepare_intra_rank

        return prepare_intra_rank(IntraRankRequest.from_options(args))
    from syrac.prepare.benchmark import prepare_benchmark

    return prepare_benchmark(converter(args.dataset), args.dataset, args)
