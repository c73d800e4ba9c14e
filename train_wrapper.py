"""Pre-train a SYRAC encoder: resolve ``--experiment`` under ``experiments/`` and run it.

    python train_wrapper.py --experiment training/baseline --params_dir ./config/ \
        --dataset DS --data_dir DATA --experiment_dir RUNS --experiment_name NAME
"""

import os
import sys
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
warnings.filterwarnings("ignore", message=".*`shuffle=True` was passed.*")

from experiments import run_wrapper  # noqa: E402
from syrac.cli import training_parser  # noqa: E402


def main(argv=None, prog="train_wrapper.py", params_dir="./config/"):
    """Parse ``argv``, resolve ``--experiment``, run it (``syrac train`` calls this with its
    own program name and the packaged parameter sets as the default ``--params_dir``)."""
    run_wrapper(training_parser(prog, params_dir), argv, prog, prefix="training/")


if __name__ == "__main__":
    sys.exit(main())
