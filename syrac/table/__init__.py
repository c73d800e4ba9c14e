"""``python -m syrac table``: the paper's kind of results table, from a recipe, in one command.

Modules, one job each:

- ``command``: the command line;
- ``recipe``: reading and checking a recipe (encoders, noisy set, benchmarks, N, rule, seeds);
- ``rows``: each row's encoders per seed (untrained, pre-trained through train_wrapper.py's
  code path, or a given checkpoint), one per epoch;
- ``selection``: the rules ``fixed``, ``rank_val`` and ``count_val``;
- ``cells``: probes, evaluation cells, rank-accuracy cells and the mean predictor's cells, kept
  once and found again by content;
- ``build``: recipe to choices (epoch, N and the cells of every row, seed and benchmark);
- ``literature``: published results from a sourced CSV file;
- ``render``: ``table.md``, ``.csv``, ``.tex``, ``.json`` and a figure per benchmark;
- ``breakdown``: the second table, each benchmark's official breakdowns
  (``table.breakdown.md`` / ``.csv`` / ``.json``).

The demo (:mod:`syrac.demo`) is this package run on ``config/recipes/demo.yaml``.
"""
