"""Smoke run: a tiny pre-training run on a fixture it generates itself (an installation check).

Command::

    python train_wrapper.py --experiment training/smoke

Writes a synthetic ranking set (bright blobs for people; each target is its source with blobs
removed) to ``smoke/data/rank`` unless it exists, then runs ``training/baseline`` with
``config/tiny.yaml`` into ``smoke/runs/smoke/rank/0/<timestamp>/``. Any of the seed command's
options may be given to override those defaults.

Runtime: under half a minute on a 2-core CPU (``config/tiny.yaml`` trains the tiny test
network, ``tiny_cnn``).
What to expect: two epochs, ``rank_accuracy`` rising above chance (0.5) on 12 pairs; two encoder
checkpoints ``best_model_01.keras`` and ``best_model_02.keras``. Not a result, a working install.
"""

import dataclasses
import os

from syrac.fixtures import make_ranking_set
from syrac.rank.pretraining import run_pretraining
from syrac.rank.request import PretrainRequest

DEFAULT_PARAMS = "tiny"


def run(args):
    given = PretrainRequest.from_options(args)
    request = dataclasses.replace(
        given,
        data_dir=given.data_dir or os.path.join("smoke", "data"),
        dataset=given.dataset or "rank",
        experiment_name=given.experiment_name or "smoke",
        experiment_dir=(os.path.join("smoke", "runs") if given.experiment_dir == "runs"
                        else given.experiment_dir),
        params=given.params or DEFAULT_PARAMS,
        seed=0 if given.seed is None else given.seed,
    )
    if not os.path.exists(os.path.join(request.data_dir, request.dataset, "annotations.json")):
        make_ranking_set(request.data_dir, request.dataset, train_pairs=12, val_pairs=4)
        print(f"Wrote a fixture ranking set to {os.path.join(request.data_dir, request.dataset)}")
    return run_pretraining(request)
