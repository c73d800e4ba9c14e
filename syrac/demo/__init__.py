"""``python -m syrac demo``: the whole method on a toy crowd world, with numbers.

``command`` is the whole package: it turns the demo's options into an amended
``config/recipes/demo.yaml`` and runs it through the results table (:mod:`syrac.table`), the one
driver of "seeds x encoders -> pre-train -> probe -> evaluate -> mean ± sd".
"""
