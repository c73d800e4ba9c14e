"""The siamese ranking model of SYRAC's pre-training step.

Both sides of a batch of pairs are augmented separately, scaled for the encoder, concatenated
on the batch axis (so batch normalisation sees 2B images), encoded, split again and scored by
the ranking decoder ``r(z) = ReLU(w . z + b)`` with ``w >= 0``. The output is
``sigmoid(r(source) - r(target))`` and the label is always 1: the source holds more people.
"""

import keras
import tensorflow as tf
from keras.src.losses.loss import unscale_loss_for_distribution

from syrac.rank.augmentation import RankingAugmentation
from syrac.rank.input_scaling import InputScaling
from syrac.rank.multi_worker_fixes import MultiWorkerFitFixes


def build_rank_decoder(
    feature_dim, num_layers=0, num_neurons=128, initializations="glorot_uniform"
):
    """The ranking decoder: ``num_layers`` ReLU layers, then a non-negative scalar and a ReLU.

    Args:
        feature_dim: the encoder's feature size (2048 for ResNet50).
        num_layers: hidden layers (the paper: 0).
        num_neurons: units per hidden layer.
        initializations: initializer of the hidden layers.
    """
    features = keras.Input((feature_dim,), name="features")  # float32: the score and the loss too
    hidden = features
    for index in range(num_layers):
        hidden = keras.layers.Dense(
            num_neurons,
            activation="relu",
            kernel_initializer=initializations,
            dtype="float32",
            name=f"hidden_{index}",
        )(hidden)
    score = keras.layers.Dense(
        1, kernel_constraint=keras.constraints.NonNeg(), dtype="float32", name="score"
    )(hidden)
    score = keras.layers.Activation("relu", dtype="float32", name="score_relu")(score)
    return keras.Model(features, score, name="rank_decoder")


@keras.saving.register_keras_serializable(package="syrac")
class SiameseRanker(MultiWorkerFitFixes, keras.Model):
    """Pairwise ranking model: P(source holds more people than target).

    Args:
        encoder: image features model (see :func:`syrac.rank.backbones.build_encoder`).
        rank_decoder: scalar scorer (see :func:`build_rank_decoder`).
        augmentation: layer applied to each side when training (identity otherwise).
        input_scaling: layer mapping [0, 1] images to the encoder's input range.

    Example:
        >>> model = SiameseRanker(encoder, build_rank_decoder(2048))
        >>> model.compile(optimizer=keras.optimizers.Adam(5e-5), loss="binary_crossentropy")
        >>> model.fit(pairs)  # pairs yields ((source, target), ones)
    """

    def __init__(
        self, encoder, rank_decoder, augmentation=None, input_scaling=None, **kwargs
    ):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.rank_decoder = rank_decoder
        self.augmentation = augmentation or RankingAugmentation(factor=0)
        self.input_scaling = input_scaling or InputScaling("resnet_v2")
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.rank_accuracy = keras.metrics.BinaryAccuracy(name="rank_accuracy")
        self.ranking_loss = None

    def call(self, inputs, training=False):
        source, target = inputs
        sides = [
            self.input_scaling(self.augmentation(side, training=training))
            for side in (source, target)
        ]
        both = tf.stop_gradient(tf.concat(sides, axis=0))
        features = self.encoder(both, training=training)
        source_features, target_features = tf.split(features, 2, axis=0)
        margin = self.rank_decoder(source_features, training=training) - self.rank_decoder(
            target_features, training=training
        )
        return tf.sigmoid(margin)

    def compile(self, optimizer="adam", loss="binary_crossentropy", **kwargs):
        """Keep the ranking loss under its own name; everything else goes to Keras."""
        super().compile(optimizer=optimizer, **kwargs)
        self.ranking_loss = keras.losses.get(loss)
        self._ranking_loss_config = keras.saving.serialize_keras_object(
            self.ranking_loss
        )

    def get_compile_config(self):
        if getattr(self, "ranking_loss", None) is None:
            return None
        return {
            "optimizer": keras.saving.serialize_keras_object(self.optimizer),
            "loss": self._ranking_loss_config,
        }

    def compile_from_config(self, config):
        self.compile(
            optimizer=keras.saving.deserialize_keras_object(config["optimizer"]),
            loss=keras.saving.deserialize_keras_object(config["loss"]),
        )
        if self.built:
            # Build the optimizer now so that its saved state (moments, step) is loaded.
            self.optimizer.build(self.trainable_variables)

    @property
    def metrics(self):
        return [self.loss_tracker, self.rank_accuracy]

    def _logs(self):
        return self.logs_for_reduction({metric.name: metric.result() for metric in self.metrics})

    def train_step(self, data):
        inputs, labels, _ = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            predictions = self(inputs, training=True)
            loss = self.ranking_loss(labels, predictions)
            scaled = (self.optimizer.scale_loss(loss)
                      if isinstance(self.optimizer, keras.optimizers.LossScaleOptimizer) else loss)
        gradients = tape.gradient(scaled, self.trainable_variables)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_variables))
        # Keras losses divide by the replica count under tf.distribute; log the true mean.
        self.loss_tracker.update_state(unscale_loss_for_distribution(loss))
        self.rank_accuracy.update_state(labels, predictions)
        return self._logs()

    def test_step(self, data):
        """Per-pair loss and accuracy, weighted: the epoch's numbers are means over the pairs
        (a pair of weight 0 pads a short last batch so that no replica gets an empty one)."""
        inputs, labels, weights = keras.utils.unpack_x_y_sample_weight(data)
        predictions = self(inputs, training=False)
        losses = self.ranking_loss.call(labels, predictions)
        self.loss_tracker.update_state(losses, sample_weight=weights)
        self.rank_accuracy.update_state(labels, predictions, sample_weight=weights)
        return self._logs()

    def get_config(self):
        config = super().get_config()
        for name in ("encoder", "rank_decoder", "augmentation", "input_scaling"):
            config[name] = keras.saving.serialize_keras_object(getattr(self, name))
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for name in ("encoder", "rank_decoder", "augmentation", "input_scaling"):
            config[name] = keras.saving.deserialize_keras_object(config[name])
        return cls(**config)


def build_ranking_model(params):
    """Build the uncompiled :class:`SiameseRanker` described by a validated parameter dict."""
    from syrac.rank.backbones import build_encoder

    from syrac.rank.precision import dtype_policy

    with dtype_policy(params.get("precision", "float32")):
        encoder = build_encoder(params["model_name"], params["input_shape"], params["weights"])
    decoder = build_rank_decoder(
        encoder.output.shape[-1],
        num_layers=params["num_layers"],
        num_neurons=params["num_neurons"],
        initializations=params["initializations"],
    )
    return SiameseRanker(
        encoder,
        decoder,
        augmentation=RankingAugmentation(
            factor=params["augment"], contrast_draw=params["contrast_draw"], dtype="float32"
        ),
        input_scaling=InputScaling(params["preprocessing"], dtype="float32"),
        name="siamese_ranker",
    )


def resolve_jit_compile(setting):
    """``jit_compile: auto`` compiles with XLA when a GPU is present; true and false force it."""
    if setting == "auto":
        return bool(tf.config.list_physical_devices("GPU"))
    return bool(setting)


def compile_ranking_model(model, params):
    """Compile with the parameter file's optimizer, learning rate and loss (Adam, BCE), and XLA
    as ``jit_compile`` says (the whole step compiles: the zoom is :class:`ZoomOut`)."""
    from syrac.rank.precision import optimizer_for

    model.compile(
        optimizer=optimizer_for(params.get("precision", "float32"),
                                keras.optimizers.Adam(learning_rate=params["learning_rate"])),
        loss=keras.losses.get(params["loss"]),
        jit_compile=resolve_jit_compile(params.get("jit_compile", "auto")),
    )
    return model
