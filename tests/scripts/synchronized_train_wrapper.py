"""``train_wrapper.py`` with batch normalisation synchronized over every replica (tests only).

A distributed run normalises each replica's share of the batch; to compare two workers with one
process training the same global batch, the tests make batch normalisation compute its training
statistics over the global batch instead. The method and the authors use per-replica statistics,
so the library has no such setting: this script sets it on the model the run builds, then runs
the wrapper with the arguments it was given.
"""

import os
import sys

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path.insert(0, REPO)

import keras  # noqa: E402

from syrac.rank import training  # noqa: E402

_build_ranking_model = training.build_ranking_model


def build_synchronized_ranking_model(params):
    model = _build_ranking_model(params)
    for layer in model._flatten_layers():
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.synchronized = True
    return model


training.build_ranking_model = build_synchronized_ranking_model

if __name__ == "__main__":
    import train_wrapper

    sys.exit(train_wrapper.main(sys.argv[1:]))
