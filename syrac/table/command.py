"""``python -m syrac table RECIPE``: a results table from one command, with an honest protocol.

    python -m syrac table config/recipes/toy.yaml [--out DIR]

Reads the recipe (:mod:`syrac.table.recipe`), checks it in full before any work, makes every
encoder, probe and cell it needs (reusing what ``--out`` already holds: a killed run started
again continues; ``--shard i/n`` makes only a share of the work into a folder several machines
share, and the same command without it assembles the table), and writes ``table.md``, ``table.csv``, ``table.tex``, ``table.json`` and a
figure per benchmark (``figure.<benchmark>.png``) to ``--out`` (default ``tables/<recipe
name>``), then prints the table. ``python -m syrac demo`` is this command on its own recipe.
"""

import os
import time

from syrac.common.output_folders import CommandParser, OutputFolder


def parser(prog):
    result = CommandParser(
        prog=prog,
        description="Pre-train, fit the count probe and evaluate every benchmark at every N as a "
                    "recipe says; write the results table beside the literature.",
    )
    result.add_argument("recipe", help="a recipe file, e.g. config/recipes/toy.yaml")
    result.add_argument("--out", default=None, action=OutputFolder,
                        help="the table's folder (default: tables/<recipe name>)")
    result.add_argument("--shard", default=None, metavar="I/N",
                        help="make only share I of N of the units of work (a pre-training "
                             "with its probes and cells), counted from 0, into --out; auto: "
                             "from a SLURM job array; auto/N: from a Kubernetes Indexed Job. "
                             "Run again without --shard to assemble the table")
    return result


def _make_data_once(recipe, folder):
    """Make the recipe's data, one process at a time: shards started together wait for the
    first, then find the data made."""
    from syrac.common.folder_lock import FolderLock
    from syrac.table.recipe import make_data

    lock = FolderLock(folder)
    waited = False
    while not lock.acquire():
        if not waited:
            print(f"Waiting for {lock.holder()} to make the recipe's data ...")
            waited = True
        time.sleep(1.0)
    with lock:
        make_data(recipe)


def run(args):
    from syrac.common.shards import parse_shard
    from syrac.table.recipe import load_recipe

    recipe = load_recipe(args.recipe)  # every key checked before any work
    shard = parse_shard(args.shard) if args.shard is not None else None
    folder = args.out or os.path.join("tables", os.path.splitext(os.path.basename(args.recipe))[0])
    os.makedirs(folder, exist_ok=True)
    from syrac.table.build import build_table, units
    from syrac.table.literature import read_literature
    from syrac.table.render import write_table

    literature = read_literature(recipe.literature) if recipe.literature else []
    _make_data_once(recipe, folder)
    if shard is not None:
        build_table(recipe, folder, shard=shard)
        total = len(units(recipe))
        print(f"Shard {shard[0]}/{shard[1]}: its units of work ({len(range(shard[0], total, shard[1]))} "
              f"of {total}) are in {folder}; run the command again without --shard to assemble "
              "the table")
        return
    choices = build_table(recipe, folder)
    text = write_table(recipe, choices, literature, folder)
    print()
    print(text)
    print(f"Written: {', '.join(os.path.join(folder, f'table.{ext}') for ext in ('md', 'csv', 'tex', 'json'))}")
