"""Command-line parsers of the two wrappers, with the authors' option names kept unchanged."""

from syrac.common.numbers import integer, number, positive_integer, seed
from syrac.common.output_folders import CommandParser, OutputFolder
from syrac.rank.request import DEFAULT_STARTUP_TIMEOUT, STRATEGIES


def training_parser(prog="train_wrapper.py", params_dir="./config/"):
    """Options of ``train_wrapper.py`` (the authors' ones first, then ours).

    ``syrac train`` has the same options, with the parameter sets shipped in the package as
    the default ``--params_dir`` (the authors' ``./config/`` exists in the repository only).
    """
    parser = CommandParser(
        prog=prog,
        description="Pre-train the SYRAC ranking encoder on a ranking set.",
    )
    parser.add_argument("--experiment", required=True,
                        help="experiment name under experiments/, e.g. training/baseline")
    parser.add_argument("--index", type=integer, default=0,
                        help="repeat index of this run (a folder level of the run path)")
    parser.add_argument("--dataset", help="dataset folder name inside --data_dir")
    parser.add_argument("--data_dir", help="folder holding <dataset>/annotations.json")
    parser.add_argument("--experiment_dir", default="runs", action=OutputFolder,
                        help="where run folders go (the authors' default was 'experiments', "
                             "which is our code package; ours is 'runs')")
    parser.add_argument("--experiment_name", help="name of this experiment's run folders")
    parser.add_argument("--params_dir", default=params_dir,
                        help="folder holding <params>.yaml or <params>.params.json")
    parser.add_argument("--patience", type=integer, default=10,
                        help="early-stopping patience on val_loss, in epochs")
    parser.add_argument("--filter_classes", nargs="*", default=[],
                        help="pair types (info.type) to leave out")
    parser.add_argument("--params", default=None,
                        help="parameter set name in --params_dir (default: the experiment's)")
    parser.add_argument("--set", nargs="*", action="extend", default=[], metavar="KEY=VALUE",
                        help="override hyper-parameters, e.g. --set epochs=1 input_shape=[64,96,3]")
    parser.add_argument("--seed", type=seed, default=None,
                        help="random seed (default: drawn at random and recorded in args.json)")
    parser.add_argument("--resume", metavar="RUN_DIR", default=None,
                        help="continue the interrupted run in RUN_DIR")
    parser.add_argument("--new_run", action="store_true",
                        help="start a new run folder even if an interrupted one matches")
    parser.add_argument("--strategy", choices=list(STRATEGIES),
                        default="default",
                        help="'mirrored' trains data-parallel on all local GPUs; 'multi_worker' "
                             "on several machines, from TF_CONFIG (README: Beyond one machine)")
    parser.add_argument("--startup_timeout", type=number, default=DEFAULT_STARTUP_TIMEOUT,
                        metavar="SECONDS",
                        help="multi_worker: give up when the other workers have not come up "
                             "after this long (default: %(default)s)")
    parser.add_argument("--run_eagerly", action="store_true",
                        help="run train/test steps eagerly (debugging, tiny runs)")
    return parser


def finetune_parser(prog="finetune_wrapper.py", params_dir="./config/"):
    """Options of ``finetune_wrapper.py`` (the authors' ones first, then ours); ``syrac
    finetune`` differs in its default ``--params_dir`` only, as ``syrac train``."""
    parser = CommandParser(
        prog=prog,
        description="Fit the linear count probe on a frozen encoder and evaluate it patch-wise.",
    )
    parser.add_argument("--experiment", required=True,
                        help="experiment name, e.g. finetuning/unsupervised/noisy_synth_regress")
    parser.add_argument("--data_dir", help="folder holding the datasets")
    parser.add_argument("--train_data", help="noisy synthetic count set to fit the probe on")
    parser.add_argument("--test_data", help="real benchmark to evaluate on (its --split split)")
    parser.add_argument("--split", default="test",
                        help="split of --test_data to evaluate on (default: test; NWPU-Crowd's "
                             "test labels are not public, evaluate it with --split val)")
    parser.add_argument("--N", type=positive_integer, default=None,
                        help="evaluate on an N x N grid of patches (required unless --stage fit)")
    parser.add_argument("--experiment_path", default="runs",
                        help="folder that --model_path is relative to")
    parser.add_argument("--model_path", required=True,
                        help="encoder checkpoint (.keras) or TF SavedModel folder")
    parser.add_argument("--params_dir", default=params_dir,
                        help="folder holding <params>.yaml or <params>.params.json")
    parser.add_argument("--params", default=None,
                        help="parameter set name in --params_dir (default: the experiment's)")
    parser.add_argument("--set", nargs="*", action="extend", default=[], metavar="KEY=VALUE",
                        help="override hyper-parameters, e.g. --set eval_batch_size=32")
    parser.add_argument("--stage", choices=["both", "fit", "evaluate"], default="both",
                        help="fit the probe, evaluate it, or both (the authors' behaviour)")
    parser.add_argument("--seed", type=seed, default=None, help="random seed")
    return parser

