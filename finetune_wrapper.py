"""Fit the count probe on a frozen encoder and evaluate it: resolve ``--experiment`` and run it.

    python3 finetune_wrapper.py --experiment finetuning/unsupervised/noisy_synth_regress \
        --data_dir DATA --train_data DS_NOISY_SYNTH --test_data DS --N 2 \
        --experiment_path RUNS --model_path MODEL --params_dir ./config/
"""

import os
import sys
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
warnings.filterwarnings("ignore", message=".*`shuffle=True` was passed.*")

from syrac.cli import finetune_parser
from syrac.common.errors import reported_errors
from syrac.common.output_folders import output_folders


def main(argv=None):
    parser = finetune_parser()
    args = parser.parse_args(argv)
    with reported_errors("finetune_wrapper.py"), output_folders(parser, args):
        from experiments import resolve_experiment

        experiment = resolve_experiment(args.experiment, prefix="finetuning/")
        experiment.run(args)


if __name__ == "__main__":
    sys.exit(main())
