"""Two narrow workarounds that let Keras 3's ``fit`` train under ``MultiWorkerMirroredStrategy``.

Both are Keras bugs, reported upstream as keras-team/keras#20585; with them unfixed, ``fit``
fails at its first batch as soon as the strategy spans two worker processes:

1. Before training, ``fit`` builds the model symbolically from the first batch and to get
   that batch it reduces the whole nested ``PerReplica`` structure with ``strategy.reduce``,
   which refuses it ("Attempt to convert a value (PerReplica ...) ... unsupported type").
   Only the batch's shapes matter there, so :meth:`MultiWorkerFitFixes._maybe_symbolic_build`
   passes this worker's first local batch instead.
2. After each step, ``reduce_per_replica`` reduces every logged value with
   ``strategy.reduce("MEAN", value, axis=0)``, which fails for the scalar logs of every
   metric ("Invalid reduction dimension 0 for input with 0 dimensions").
   :func:`logs_for_reduction` gives each value the batch axis of length 1 that the reduction
   expects; the mean over that axis and the workers is the scalar the callbacks then see.

``tests/multi_worker`` runs unmodified Keras on two workers and checks that both failures
still happen: when a Keras release fixes them, that test fails and these lines can go.
"""

import keras
import tensorflow as tf
from keras.src import tree

from syrac.rank.multi_worker import in_multi_worker_mode


class MultiWorkerFitFixes:
    """Mixin for a ``keras.Model`` trained with ``fit`` under ``MultiWorkerMirroredStrategy``."""

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        strategy = self.distribute_strategy
        if iterator is not None and data_batch is None and in_multi_worker_mode(strategy):
            for _, _, batches in iterator:
                data_batch = tree.map_structure(
                    lambda value: strategy.experimental_local_results(value)[0],
                    next(batches),
                )
                break
            iterator = None
        return super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

    def logs_for_reduction(self, logs):
        """``logs`` as the step must return them under this model's strategy."""
        if not in_multi_worker_mode(self.distribute_strategy):
            return logs
        return {name: tf.reshape(value, [1]) for name, value in logs.items()}


def unpatched_fit_failures(strategy):
    """Run both Keras code paths above without the workarounds; return what each raised.

    Used by the tests (under a two-worker strategy) to tell when Keras has fixed them:
    ``{"symbolic_build": message or None, "scalar_logs": message or None}``.
    """
    from keras.src.backend.tensorflow.trainer import reduce_per_replica

    failures = {}
    with strategy.scope():
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse")
    data = tf.data.Dataset.from_tensor_slices((tf.ones([8, 2]), tf.ones([8, 1]))).batch(4)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    attempts = {
        "symbolic_build": lambda: model.fit(data.with_options(options), epochs=1, verbose=0),
        "scalar_logs": lambda: reduce_per_replica(
            {"loss": tf.constant(1.0)}, strategy, reduction="auto"),
    }
    for name, attempt in attempts.items():
        try:
            attempt()
            failures[name] = None
        except Exception as error:  # noqa: BLE001 (recorded, whatever Keras raises)
            failures[name] = f"{type(error).__name__}: {str(error)[:200]}"
    return failures
