"""Pre-train a SYRAC encoder: resolve ``--experiment`` under ``experiments/`` and run it.

    python train_wrapper.py --experiment training/baseline --params_dir ./config/ \
        --dataset DS --data_dir DATA --experiment_dir RUNS --experiment_name NAME
"""

import os
import sys
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
warnings.filterwarnings("ignore", message=".*`shuffle=True` was passed.*")

from syrac.cli import training_parser
from syrac.common.errors import reported_errors
from syrac.common.output_folders import output_folders


def main(argv=None):
    parser = training_parser()
    args = parser.parse_args(argv)
    with reported_errors("train_wrapper.py"), output_folders(parser, args):
        from experiments import resolve_experiment

        experiment = resolve_experiment(args.experiment, prefix="training/")
        experiment.run(args)


if __name__ == "__main__":
    sys.exit(main())
