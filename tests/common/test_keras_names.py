"""The loss and initializer names the parameter check accepts are exactly those Keras knows."""

import keras
import keras.src.initializers
import keras.src.losses
import pytest

from syrac.common import keras_names
from syrac.common.config import load_params, parse_overrides
from syrac.common.errors import SyracError
from tests.conftest import REPO


def test_the_loss_names_are_keras_own():
    known = set(keras.src.losses.ALL_OBJECTS_DICT) - set(keras_names.ABSTRACT_LOSSES)
    assert set(keras_names.LOSSES) == known  # a Keras upgrade that adds or drops one fails here


def test_the_initializer_names_are_keras_own():
    known = set(keras.src.initializers.ALL_OBJECTS_DICT) - set(keras_names.ABSTRACT_INITIALIZERS)
    assert set(keras_names.INITIALIZERS) == known


@pytest.mark.parametrize("name", ["binary_crossentropy", "Huber", "mse"])
def test_an_accepted_loss_name_is_one_keras_builds(name):
    assert keras.losses.get(name) is not None


@pytest.mark.parametrize("override, key", [
    ("loss=NotALoss", "'loss'"),
    ("loss={class_name: NotALoss, config: {}}", "'loss'"),
    ("initializations=not_an_initializer", "'initializations'"),
    ("optimizer=adamw", "'optimizer'"),
])
def test_an_unknown_keras_name_is_refused_by_key(override, key):
    with pytest.raises(SyracError, match=key) as refused:
        load_params(REPO / "config", "tiny", parse_overrides([override]))
    assert "Received" in str(refused.value) and "one of" in str(refused.value)
