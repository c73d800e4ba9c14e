"""Loading encoders: our .keras files, TF SavedModel folders made the Keras 2 way, bad paths."""

import json
import zipfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from syrac.common.errors import SyracError
from syrac.count.encoder_loading import find_hyperparams, load_encoder, load_hyperparams

SHAPE = (16, 20, 3)


def small_encoder():
    """A functional model shaped like ours: image in, global-average-pooled features out."""
    inputs = keras.Input(SHAPE, name="input_1")
    hidden = keras.layers.Conv2D(8, 3, activation="relu")(inputs)
    hidden = keras.layers.BatchNormalization()(hidden)
    features = keras.layers.GlobalAveragePooling2D(name="global_average_pooling2d")(hidden)
    return keras.Model(inputs, features, name="encoder")


class Keras2StyleExport(tf.Module):
    """What a Keras 2 ``model.save(path, save_format='tf')`` leaves for inference: a
    ``serving_default`` signature taking the named input and returning a dict of outputs."""

    def __init__(self, model, input_shape):
        super().__init__()
        self.model = model
        self.serve = tf.function(
            self._serve,
            input_signature=[tf.TensorSpec([None, *input_shape], tf.float32, name="input_1")],
        )

    def _serve(self, input_1):
        return {"global_average_pooling2d": self.model(input_1, training=False)}


@pytest.fixture(scope="module")
def model():
    encoder = small_encoder()
    # Non-trivial batch-norm statistics, so inference mode is visible in the features.
    encoder.layers[2].moving_mean.assign(np.linspace(-1, 1, 8).astype("float32"))
    return encoder


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).normal(size=(3, *SHAPE)).astype(np.float32)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, model):
    """A run folder: our .keras checkpoint, two SavedModel folders and hyperparams.json."""
    folder = tmp_path_factory.mktemp("run")
    model.save(folder / "best_model_01.keras")
    model.export(str(folder / "exported"), verbose=False)  # Keras 3's SavedModel export
    module = Keras2StyleExport(model, SHAPE)
    tf.saved_model.save(module, str(folder / "best_model_02"),
                        signatures={"serving_default": module.serve})
    (folder / "hyperparams.json").write_text(
        json.dumps({"input_shape": [64, 96, 3], "preprocessing": "caffe", "epochs": 3})
    )
    return folder


def test_keras_file(run_dir, model, images):
    encoder = load_encoder(run_dir / "best_model_01.keras")
    assert encoder.kind == "keras"
    assert encoder.input_shape == list(SHAPE)
    assert encoder.feature_dim == 8
    np.testing.assert_allclose(encoder(images), model(images, training=False), atol=1e-5)
    # A batch of another size goes through the same function.
    assert tuple(encoder(images[:1]).shape) == (1, 8)


@pytest.mark.parametrize("folder", ["best_model_02", "exported"])
def test_saved_model_folder(run_dir, model, images, folder):
    encoder = load_encoder(run_dir / folder)
    assert encoder.kind == "saved_model"
    assert encoder.input_shape == list(SHAPE)
    assert encoder.feature_dim == 8
    features = encoder(images)
    assert tuple(features.shape) == (3, 8)
    np.testing.assert_allclose(features, model(images, training=False), atol=1e-5)


def test_saved_model_with_free_image_size(tmp_path, images):
    inputs = keras.Input((None, None, 3))
    features = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3)(inputs))
    model = keras.Model(inputs, features)
    module = Keras2StyleExport(model, (None, None, 3))
    tf.saved_model.save(module, str(tmp_path / "free"),
                        signatures={"serving_default": module.serve})
    encoder = load_encoder(str(tmp_path / "free"))
    assert encoder.input_shape is None
    np.testing.assert_allclose(encoder(images), model(images), atol=1e-5)


def test_missing_path(tmp_path):
    with pytest.raises(SyracError, match=r"nothing\.keras: no such file or folder; .* is empty"):
        load_encoder(tmp_path / "nothing.keras")


def test_folder_that_is_not_a_saved_model(run_dir):
    with pytest.raises(
        SyracError, match=r"not a TF SavedModel \(no saved_model.pb\); it holds .*best_model_01"
        r".*did you mean one of its checkpoints, e.g. .*best_model_01.keras"
    ):
        load_encoder(run_dir)


def test_empty_folder(tmp_path):
    with pytest.raises(SyracError, match="no saved_model.pb.*it is empty"):
        load_encoder(tmp_path)


def test_random_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(SyracError, match=r"notes.txt: a file that is neither .* \(5 bytes\)"):
        load_encoder(path)


def test_keras_file_that_is_not_a_zip(tmp_path):
    path = tmp_path / "broken.keras"
    path.write_bytes(b"\x00" * 64)
    with pytest.raises(SyracError, match="broken.keras: not a Keras archive"):
        load_encoder(path)


def test_keras_zip_without_a_model(tmp_path):
    path = tmp_path / "other.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "not a model")
    with pytest.raises(SyracError, match="other.keras: cannot be read as a Keras model"):
        load_encoder(path)


def test_keras_model_that_is_not_an_encoder(tmp_path):
    inputs = keras.Input((4,))
    keras.Model(inputs, keras.layers.Dense(1)(inputs), name="regressor").save(
        tmp_path / "regressor.keras"
    )
    with pytest.raises(SyracError, match=r"model 'regressor' maps \(None, 4\) to \(None, 1\)"):
        load_encoder(tmp_path / "regressor.keras")


def test_h5_file(tmp_path):
    path = tmp_path / "weights.h5"
    path.write_bytes(b"\x89HDF\r\n\x1a\n")
    with pytest.raises(SyracError, match=r"weights.h5: an HDF5 \(.h5\) file"):
        load_encoder(path)


def test_corrupt_saved_model(tmp_path):
    folder = tmp_path / "corrupt"
    folder.mkdir()
    (folder / "saved_model.pb").write_bytes(b"garbage")
    with pytest.raises(SyracError, match="corrupt: cannot be read as a TF SavedModel"):
        load_encoder(folder)


def test_hyperparams_found_next_to_either_kind_of_checkpoint(run_dir):
    expected = str(run_dir / "hyperparams.json")
    assert find_hyperparams(run_dir / "best_model_01.keras") == expected
    assert find_hyperparams(str(run_dir / "best_model_02") + "/") == expected
    settings, path = load_hyperparams(run_dir / "best_model_01.keras")
    assert path == expected
    assert settings == {"input_shape": [64, 96, 3], "preprocessing": "caffe"}


def test_no_hyperparams(tmp_path):
    assert find_hyperparams(tmp_path / "model.keras") is None
    assert load_hyperparams(tmp_path / "model.keras") == ({}, None)


def test_invalid_hyperparams_are_refused(tmp_path):
    (tmp_path / "hyperparams.json").write_text(json.dumps({"input_shape": [64, 96]}))
    with pytest.raises(SyracError, match=r"hyperparams.json: 'input_shape' must be .*\[64, 96\]"):
        load_hyperparams(tmp_path / "best_model_01.keras")
