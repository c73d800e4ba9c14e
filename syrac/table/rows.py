"""The encoders of a table's rows: untrained, pre-trained by the recipe, or given checkpoints.

For each row and seed this gives the checkpoints a selection rule chooses among, one per epoch,
with the ranking ``val_loss`` of that epoch where there is one (pre-training rows).
Pre-training goes through ``train_wrapper.py``'s code path (:mod:`syrac.rank.pretraining`) into
``<out>/runs/<row>/<dataset>/<seed>/``; a finished run of the same command is reused, an
interrupted one resumed.
"""

import dataclasses
import os
import re

from syrac.rank.pretraining import finished_run, run_pretraining
from syrac.rank.request import PretrainRequest
from syrac.rank.run_folder import RunFolder


@dataclasses.dataclass(frozen=True)
class Epoch:
    """One checkpoint a row can be scored with: its 1-based epoch (None when not trained)."""

    epoch: int
    checkpoint: str
    val_loss: float = None


def slug(name):
    """A folder name for a row name: ``"SYRAC ranking"`` -> ``syrac_ranking``."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "row"


def _untrained(row, seed, params, folder):
    from syrac.rank.training import save_initial_encoder

    path = os.path.join(folder, "encoders", f"{slug(row.name)}.seed{seed}.keras")
    return [Epoch(None, save_initial_encoder(params, seed, path))]


def _pretrained(recipe, row, seed, folder, fresh):
    request = PretrainRequest(
        experiment="training/baseline", params_dir=recipe.params_dir, params=recipe.params_name,
        set=[*recipe.overrides, *row.overrides], dataset=row.dataset, data_dir=recipe.data_dir,
        experiment_dir=os.path.join(folder, "runs"), experiment_name=slug(row.run_name or row.name),
        index=seed,
        seed=seed, filter_classes=list(row.filter_classes), new_run=fresh,
    )
    run_dir = None if fresh else finished_run(request)
    if run_dir is None:
        run_dir = run_pretraining(request)
    else:
        print(f"{row.name}, seed {seed}: reusing the finished pre-training {run_dir}")
    run_folder = RunFolder(run_dir)
    losses = run_folder.logged("val_loss")  # results.csv counts epochs from 0
    return [Epoch(epoch, path, losses.get(epoch - 1))
            for epoch, path in run_folder.checkpoints().items()]


def row_epochs(recipe, row, seed, folder, *, fresh=False):
    """The :class:`Epoch` list of ``row`` for ``seed`` (one entry unless pre-trained); with
    ``fresh``, a pre-training row trains anew even when a finished run of it exists."""
    if row.kind == "checkpoint":
        return [Epoch(None, row.checkpoint)]
    if row.kind == "untrained":
        return _untrained(row, seed, recipe.params_for(row), folder)
    return _pretrained(recipe, row, seed, folder, fresh)
