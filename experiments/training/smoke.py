"""Smoke run: a tiny pre-training run on a fixture it generates itself (an installation check).

Command::

    python train_wrapper.py --experiment training/smoke

Writes a synthetic ranking set (bright blobs for people; each target is its source with blobs
removed) to ``smoke/data/rank`` unless it exists, then runs ``training/baseline`` with
``config/tiny.yaml`` into ``smoke/runs/smoke/rank/0/<timestamp>/``. Any of the seed command's
options may be given to override those defaults.

Runtime: about a minute on a 2-core CPU (most of it is graph tracing of ResNet50).
What to expect: two epochs, ``rank_accuracy`` rising above chance (0.5) on 12 pairs; two encoder
checkpoints ``best_model_01.keras`` and ``best_model_02.keras``. Not a result, a working install.
"""

import os

from experiments.training import baseline
from syrac.fixtures import make_ranking_set

DEFAULT_PARAMS = "tiny"


def run(args):
    args.data_dir = args.data_dir or os.path.join("smoke", "data")
    args.dataset = args.dataset or "rank"
    args.experiment_name = args.experiment_name or "smoke"
    if args.experiment_dir == "runs":
        args.experiment_dir = os.path.join("smoke", "runs")
    args.params = args.params or DEFAULT_PARAMS
    if args.seed is None:
        args.seed = 0
    if not os.path.exists(os.path.join(args.data_dir, args.dataset, "annotations.json")):
        make_ranking_set(args.data_dir, args.dataset, train_pairs=12, val_pairs=4)
        print(f"Wrote a fixture ranking set to {os.path.join(args.data_dir, args.dataset)}")
    return baseline.run(args)
