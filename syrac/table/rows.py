"""The encoders of a table's rows: untrained, pre-trained by the recipe, or given checkpoints.

For each row and seed this gives the checkpoints a selection rule chooses among, one per epoch,
with the ranking ``val_loss`` of that epoch where there is one (pre-training rows).
Pre-training goes through ``train_wrapper.py``'s code path (:mod:`syrac.rank.pretraining`) into
``<out>/runs/<row>/<dataset>/<seed>/``; a finished run of the same command is reused, an
interrupted one resumed.
"""

import csv
import dataclasses
import os
import re

from syrac.common.files import write_atomic
from syrac.rank.pretraining import finished_run, pretraining_options, run_pretraining


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
    from syrac.rank.training import initial_encoder

    path = os.path.join(folder, "encoders", f"{slug(row.name)}.seed{seed}.keras")
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        temporary = path[: -len(".keras")] + f".{os.getpid()}.partial.keras"
        initial_encoder(params, seed).save(temporary)
        with open(temporary, "rb") as handle:
            write_atomic(path, handle.read())
        os.remove(temporary)
    return [Epoch(None, path)]


def _val_losses(run_dir):
    losses = {}
    path = os.path.join(run_dir, "results.csv")
    if os.path.isfile(path):
        with open(path, newline="", encoding="utf-8") as handle:
            for record in csv.DictReader(handle):
                if record.get("val_loss") not in (None, ""):
                    losses[int(record["epoch"]) + 1] = float(record["val_loss"])
    return losses


def _pretrained(recipe, row, seed, folder):
    options = pretraining_options(
        experiment="training/baseline", params_dir=recipe.params_dir, params=recipe.params_name,
        set=[*recipe.overrides, *row.overrides], dataset=row.dataset, data_dir=recipe.data_dir,
        experiment_dir=os.path.join(folder, "runs"), experiment_name=slug(row.name), index=seed,
        seed=seed, filter_classes=list(row.filter_classes),
    )
    run_dir = finished_run(options)
    if run_dir is None:
        run_dir = run_pretraining(options)
    else:
        print(f"{row.name}, seed {seed}: reusing the finished pre-training {run_dir}")
    losses = _val_losses(run_dir)
    checkpoints = sorted(name for name in os.listdir(run_dir)
                         if re.fullmatch(r"best_model_\d+\.keras", name))
    return [Epoch(int(name[len("best_model_"):-len(".keras")]), os.path.join(run_dir, name),
                  losses.get(int(name[len("best_model_"):-len(".keras")])))
            for name in checkpoints]


def row_epochs(recipe, row, seed, folder):
    """The :class:`Epoch` list of ``row`` for ``seed`` (one entry unless pre-trained)."""
    if row.kind == "checkpoint":
        return [Epoch(None, row.checkpoint)]
    if row.kind == "untrained":
        return _untrained(row, seed, recipe.params_for(row), folder)
    return _pretrained(recipe, row, seed, folder)
