"""Run one training step on one device and on two mirrored CPU replicas; print both as JSON.

Must run in a fresh process: the CPU is split into two logical devices before TensorFlow starts.
VGG16 (no batch normalisation) and augmentation off make the two steps mathematically equal.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from syrac.common.config import load_params  # noqa: E402
from syrac.rank.distribution import split_cpu  # noqa: E402
from syrac.rank.ranking_model import build_ranking_model, compile_ranking_model  # noqa: E402

devices = split_cpu(2)
params, _ = load_params("config", "tiny", {"model_name": "vgg16", "augment": 0, "batch_size": 4})
batch = (
    (tf.random.stateless_uniform((4, 32, 48, 3), seed=(1, 1)),
     tf.random.stateless_uniform((4, 32, 48, 3), seed=(1, 2))),
    tf.ones((4, 1)),
)
dataset = tf.data.Dataset.from_tensors(batch)


def one_step(strategy, initial_weights=None):
    with strategy.scope():
        keras.utils.set_random_seed(0)
        model = build_ranking_model(params)
        compile_ranking_model(model, params)
        model((batch[0][0][:1], batch[0][1][:1]))
        if initial_weights is not None:
            model.set_weights(initial_weights)
    before = model.get_weights()
    history = model.fit(dataset, epochs=1, verbose=0)
    return model, before, history.history["loss"][0]


single, start, single_loss = one_step(tf.distribute.get_strategy())
mirrored_strategy = tf.distribute.MirroredStrategy(devices)
mirrored, _, mirrored_loss = one_step(mirrored_strategy, start)
single_update = [a - b for a, b in zip(single.get_weights(), start)]
mirrored_update = [a - b for a, b in zip(mirrored.get_weights(), start)]
print(json.dumps({
    "replicas": mirrored_strategy.num_replicas_in_sync,
    "single_loss": float(single_loss),
    "mirrored_loss": float(mirrored_loss),
    "max_update_difference": float(max(np.max(np.abs(a - b)) for a, b in zip(single_update, mirrored_update))),
    "max_update": float(max(np.max(np.abs(a)) for a in single_update)),
}))
