"""Pre-training of the paper (SYRAC "Rank"): siamese ResNet50 on real/people-removed pairs.

Command (the authors' README, unchanged)::

    python train_wrapper.py --experiment training/baseline --params_dir ./config/ \
        --dataset DS --data_dir DATA --experiment_dir RUNS --experiment_name NAME

Parameters: ``config/baseline.yaml`` (input 640x853, batch 3 pairs, 15 epochs, Adam 5e-5,
ImageNet ResNet50, augmentation factor 2), early stopping on ``val_loss`` with ``--patience 10``.

Runtime: dominated by ResNet50 at 640x853 on 2 x 3 images a step; on one modern GPU an epoch of
a few thousand pairs takes tens of minutes; on a CPU, hours (``benchmarks/pretraining_throughput.py``
prints this machine's pairs/s). With ``--params tiny`` (32x48, random init) a fixture of a few
pairs trains in well under a minute.

On several machines, every machine runs the same command with ``--strategy multi_worker`` and its
own ``TF_CONFIG`` (README, "Beyond one machine"); ``batch_size`` stays the global batch.

What to expect: train ``rank_accuracy`` climbing towards 1 and ``val_rank_accuracy`` high on
held-out pairs (removing people is an easy signal); the counting number comes from the probe
(``finetuning/unsupervised/noisy_synth_regress``), not from this step.
"""

from syrac.rank.pretraining import run_pretraining
from syrac.rank.request import PretrainRequest

DEFAULT_PARAMS = "baseline"


def run(args):
    """Pre-train (or resume) one run with ``config/baseline.yaml``; return its folder."""
    return run_pretraining(PretrainRequest.from_options(args), DEFAULT_PARAMS)
