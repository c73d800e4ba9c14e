"""``python -m syrac demo``: the whole method on a toy crowd world, with numbers.

Modules, one job each:

- ``command``: the command line and the run (world, pre-training, Count step per encoder);
- ``comparison``: summaries over seeds, the Markdown table and rank accuracy.
"""
