"""``python -m syrac table RECIPE``: a results table from one command, with an honest protocol.

    python -m syrac table config/recipes/toy.yaml [--out DIR]

Reads the recipe (:mod:`syrac.table.recipe`), checks it in full before any work, makes every
encoder, probe and cell it needs (reusing what ``--out`` already holds: a killed run started
again continues), and writes ``table.md``, ``table.csv``, ``table.tex``, ``table.json`` and a
figure per benchmark (``figure.<benchmark>.png``) to ``--out`` (default ``tables/<recipe
name>``), then prints the table. ``python -m syrac demo`` is this command on its own recipe.
"""

import argparse
import os

from syrac.common.output_folders import OutputFolder


def parser(prog):
    result = argparse.ArgumentParser(
        prog=prog,
        description="Pre-train, fit the count probe and evaluate every benchmark at every N as a "
                    "recipe says; write the results table beside the literature.",
    )
    result.add_argument("recipe", help="a recipe file, e.g. config/recipes/toy.yaml")
    result.add_argument("--out", default=None, action=OutputFolder,
                        help="the table's folder (default: tables/<recipe name>)")
    return result


def run(args):
    from syrac.table.recipe import load_recipe, make_data

    recipe = load_recipe(args.recipe)  # every key checked before any work
    folder = args.out or os.path.join("tables", os.path.splitext(os.path.basename(args.recipe))[0])
    os.makedirs(folder, exist_ok=True)
    from syrac.table.build import build_table
    from syrac.table.literature import read_literature
    from syrac.table.render import write_table

    literature = read_literature(recipe.literature) if recipe.literature else []
    make_data(recipe)
    choices = build_table(recipe, folder)
    text = write_table(recipe, choices, literature, folder)
    print()
    print(text)
    print(f"Written: {', '.join(os.path.join(folder, f'table.{ext}') for ext in ('md', 'csv', 'tex', 'json'))}")
