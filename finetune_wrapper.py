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

from experiments import run_wrapper  # noqa: E402
from syrac.cli import finetune_parser  # noqa: E402


def main(argv=None, prog="finetune_wrapper.py", params_dir="./config/"):
    """Parse ``argv``, resolve ``--experiment``, run it (``syrac finetune`` calls this with its
    own program name and the packaged parameter sets as the default ``--params_dir``)."""
    run_wrapper(finetune_parser(prog, params_dir), argv, prog, prefix="finetuning/")


if __name__ == "__main__":
    sys.exit(main())
