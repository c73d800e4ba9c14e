"""From a recipe to the table's numbers: encoders, probes, selection, cells, means over seeds.

For every seed and row the encoders are made (:mod:`syrac.table.rows`); the rule picks an epoch
and an N per benchmark (:mod:`syrac.table.selection`), looking only at the val split when it
looks at labels at all; the reported split is then evaluated at every N for the chosen epoch,
each image decoded once for all N (:mod:`syrac.table.cells`). A probe is fitted once per
checkpoint and reused for every benchmark and N, and for the rank accuracy on held-out pairs
when the recipe asks for it. A ``mean`` row scores the noisy set's mean label the same way.
"""

import dataclasses
import statistics

from syrac.common.shards import shard_items
from syrac.count.submission import is_nwpu_test
from syrac.table.cells import TableCache
from syrac.table.rows import Epoch, row_epochs
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
    rank: dict = None     # the rank-accuracy cell of the chosen epoch, when the recipe asks
    hidden: dict = None   # NWPU-Crowd: the hidden test split counted at this epoch and N

    @property
    def cell(self):
        return self.grid[self.n]


def summary(values):
    """``{"mean", "sd", "values"}``; the sample standard deviation, None for a single value.
    None when a value is undefined (NAE of a split with no one in it)."""
    values = list(values)
    if not values or any(value is None for value in values):
        return None
    values = [float(v) for v in values]
    return {"mean": statistics.fmean(values),
            "sd": statistics.stdev(values) if len(values) > 1 else None, "values": values}


class _ProbedRow:
    """The scores of an encoder row for one seed: a probe per epoch, fitted when first used."""

    def __init__(self, cache, recipe, row, epochs):
        self.cache, self.recipe, self.epochs = cache, recipe, epochs
        self.params = recipe.params_for(row)
        self.noisy_set = row.noisy_set or recipe.noisy_set
        self._probes = {}

    def _probe(self, index):
        if index not in self._probes:
            self._probes[index] = self.cache.probe(self.epochs[index].checkpoint,
                                                   self.noisy_set, self.params)
        return self._probes[index]

    def cells(self, index, dataset, split):
        return self.cache.cells(self._probe(index), dataset, split, self.recipe.ns)

    def rank_accuracy(self, index):
        return self.cache.rank_accuracy(self._probe(index), self.recipe.rank_pairs)

    def hidden_counts(self, index, dataset, n):
        return self.cache.hidden_counts(self._probe(index), dataset, n)


class _MeanRow:
    """The scores of the mean predictor: no encoder, no epoch, the noisy set's mean label."""

    epochs = [Epoch(None, None)]

    def __init__(self, cache, recipe, row):
        self.cache, self.recipe = cache, recipe
        self.noisy_set = row.noisy_set or recipe.noisy_set

    def cells(self, index, dataset, split):
        return self.cache.mean_cells(self.noisy_set, dataset, split, self.recipe.ns)

    def rank_accuracy(self, index):
        return self.cache.mean_rank_accuracy(self.noisy_set, self.recipe.rank_pairs)

    def hidden_counts(self, index, dataset, n):
        return self.cache.hidden_counts(None, dataset, n, mean_of=self.noisy_set)


def _scored_row(cache, recipe, row, seed, *, folder, fresh):
    if row.kind == "mean":
        return _MeanRow(cache, recipe, row)
    epochs = row_epochs(recipe, row, seed, folder, fresh=fresh)
    return _ProbedRow(cache, recipe, row, epochs)


def units(recipe):
    """The table's units of work, in a fixed order: the ``(seed, row)`` pairs of one encoder
    (one pre-training run, shared by the rows that pre-train alike; or an untrained or given
    encoder), with the probes and cells that depend on it."""
    groups = {}
    for seed in recipe.seeds:
        for row in recipe.encoders:
            groups.setdefault((seed, row.run_name or row.name), []).append((seed, row))
    return list(groups.values())


def build_table(recipe, folder, log=print, *, fresh=False, shard=None):
    """Make every cell ``recipe`` asks for (reusing what ``folder`` holds); return the choices.

    With ``fresh``, pre-training rows train anew instead of reusing a finished run; probes and
    cells are found by content, so only what comes out byte for byte the same is reused. With
    ``shard`` ``(i, n)``, only the units ``k`` with ``k mod n == i`` are made (their choices
    returned): shards on one folder write disjoint files, and a run without a shard then finds
    everything they made.
    """
    cache = TableCache(folder, recipe.data_dir)
    choices = []
    mine = units(recipe) if shard is None else shard_items(units(recipe), *shard)
    hidden_tests = {benchmark.dataset for benchmark in recipe.benchmarks
                    if is_nwpu_test(recipe.data_dir, benchmark.dataset, "test")}
    for seed, row in [pair for unit in mine for pair in unit]:
        scored = _scored_row(cache, recipe, row, seed, folder=folder, fresh=fresh)
        epochs = scored.epochs
        for benchmark in recipe.benchmarks:
            val_mae, looked_at = {}, []
            if recipe.rule == "count_val":
                for index in range(len(epochs)):
                    cells = scored.cells(index, benchmark.dataset, benchmark.val_split)
                    for n, cell in cells.items():
                        val_mae[(index, n)] = cell["mae"]
                        looked_at.append(cell["file"])
            index, n = choose(recipe.rule, recipe.fixed_n, epochs, val_mae)
            grid = scored.cells(index, benchmark.dataset, benchmark.split)
            ranked = scored.rank_accuracy(index) if recipe.rank_pairs else None
            hidden = (scored.hidden_counts(index, benchmark.dataset, n)
                      if benchmark.dataset in hidden_tests else None)
            choices.append(Choice(row.name, seed, benchmark.title, epochs[index].epoch, n,
                                  grid, looked_at, ranked, hidden))
            log(f"{row.name}, seed {seed}, {benchmark.title}: epoch "
                f"{epochs[index].epoch or '-'}, N={n}: MAE {grid[n]['mae']:.2f} "
                f"RMSE {grid[n]['rmse']:.2f}"
                + (f", rank accuracy {ranked['rank_accuracy']:.3f}" if ranked else ""))
    log(f"{cache.computed} probe(s) and cell(s) computed, {cache.reused} reused from {folder}")
    return choices
