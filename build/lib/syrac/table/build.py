"""From a recipe to the table's numbers: encoders, probes, selection, cells, means over seeds.

For every seed and row the encoders are made (:mod:`syrac.table.rows`); the rule picks an epoch
and an N per benchmark (:mod:`syrac.table.selection`), looking only at the val split when it
looks at labels at all; the reported split is then evaluated at every N for the chosen epoch,
each image decoded once for all N (:mod:`syrac.table.cells`). A probe is fitted once per
checkpoint and reused for every benchmark and N.
"""

import dataclasses
import statistics

from syrac.table.cells import TableCache
from syrac.table.rows import row_epochs
from syrac.table.selection import choose


@dataclasses.dataclass
class Choice:
    """One row, seed and benchmark: the chosen epoch and N, and the reported split at every N."""

    row: str
    seed: int
    benchmark: str
    epoch: int
    n: int
    grid: dict            # {N: cell} on the reported split, for the chosen epoch
    selected_on: list     # the val cell files the rule looked at (count_val), else []

    @property
    def cell(self):
        return self.grid[self.n]


def summary(values):
    """``{"mean", "sd", "values"}``; the sample standard deviation, None for a single value."""
    values = [float(v) for v in values]
    return {"mean": statistics.fmean(values),
            "sd": statistics.stdev(values) if len(values) > 1 else None, "values": values}


def build_table(recipe, folder, log=print):
    """Make every cell ``recipe`` asks for (reusing what ``folder`` holds); return the choices."""
    cache = TableCache(folder, recipe.data_dir)
    choices = []
    for seed in recipe.seeds:
        for row in recipe.encoders:
            params = recipe.params_for(row)
            epochs = row_epochs(recipe, row, seed, folder)
            probes = {}

            def probe_of(index):
                if index not in probes:
                    probes[index] = cache.probe(epochs[index].checkpoint, recipe.noisy_set,
                                                params)
                return probes[index]

            for benchmark in recipe.benchmarks:
                val_mae, looked_at = {}, []
                if recipe.rule == "count_val":
                    for index, epoch in enumerate(epochs):
                        key, probe = probe_of(index)
                        cells = cache.cells(epoch.checkpoint, key, probe, benchmark.dataset,
                                            benchmark.val_split, recipe.ns, params)
                        for n, cell in cells.items():
                            val_mae[(index, n)] = cell["mae"]
                            looked_at.append(cell["file"])
                index, n = choose(recipe.rule, recipe.fixed_n, epochs, val_mae)
                key, probe = probe_of(index)
                grid = cache.cells(epochs[index].checkpoint, key, probe, benchmark.dataset,
                                   benchmark.split, recipe.ns, params)
                choices.append(Choice(row.name, seed, benchmark.title, epochs[index].epoch, n,
                                      grid, looked_at))
                log(f"{row.name}, seed {seed}, {benchmark.title}: epoch "
                    f"{epochs[index].epoch or '-'}, N={n}: MAE {grid[n]['mae']:.2f} "
                    f"RMSE {grid[n]['rmse']:.2f}")
    log(f"{cache.computed} probe(s) and cell(s) computed, {cache.reused} reused from {folder}")
    return choices
