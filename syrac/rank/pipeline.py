"""``tf.data`` pipelines: ranking pairs for pre-training, plain image lists for the probe.

The training pipeline is a *schedule*: every epoch's shuffled order is a pure function of
(seed, epoch), and each epoch holds exactly ``steps_per_epoch`` full batches (the authors'
``drop_remainder=True``). A run resumed at (epoch, batch) therefore sees exactly the batches it
had not yet trained on.

Under a distribution strategy every global batch is split between the replicas; across worker
processes the split is tf.data's DATA auto-sharding (each worker keeps its replicas' part of
every batch: the FILE policy cannot shard a list of paths, and OFF would give each worker a
different part of the data than a single process trains on). No replica may receive an empty
batch (a worker dies on one, and its peers with it): training batches are full and a multiple
of the replicas, and the validation set is padded to whole batches with pairs of weight 0.
"""

import tensorflow as tf

from syrac.common.images import decode_image

AUTOTUNE = tf.data.AUTOTUNE


def steps_per_epoch(num_pairs, batch_size):
    """Full batches in one epoch (the remainder is dropped, as in the authors' pipeline)."""
    return num_pairs // batch_size


def _decode_pair(size):
    def decode(source, target):
        return (decode_image(source, size), decode_image(target, size)), tf.ones([1])

    return decode


def training_schedule(pairs, input_shape, batch_size, epochs, seed, shuffle_buffer,
                      start_step=0):
    """Batches ``((source, target), label=1)`` for all epochs, starting at global ``start_step``.

    Args:
        pairs: ``[(source_path, target_path), ...]``.
        input_shape: ``(height, width, 3)``.
        batch_size: pairs per batch.
        epochs: number of epochs in the schedule.
        seed: base seed of the per-epoch shuffles.
        shuffle_buffer: shuffle buffer (authors: 6000; smaller sets are fully permuted).
        start_step: batches to skip (already trained on); skipping happens before decoding.
    """
    steps = steps_per_epoch(len(pairs), batch_size)
    sources = tf.constant([source for source, _ in pairs])
    targets = tf.constant([target for _, target in pairs])
    base = tf.data.Dataset.from_tensor_slices((sources, targets))

    def one_epoch(epoch):
        # Python-int seeds: a tensor seed breaks tf.data's seed logic when the global seed is 0.
        shuffled = base.shuffle(
            shuffle_buffer, seed=int(seed) * 1_000_003 + epoch, reshuffle_each_iteration=False
        )
        return shuffled.take(steps * batch_size)

    schedule = one_epoch(0)
    for epoch in range(1, epochs):
        schedule = schedule.concatenate(one_epoch(epoch))
    schedule = schedule.skip(start_step * batch_size)
    schedule = schedule.map(_decode_pair(input_shape[:2]), num_parallel_calls=AUTOTUNE)
    return _shard_by_data(schedule.batch(batch_size, drop_remainder=True).prefetch(AUTOTUNE))


def _shard_by_data(dataset):
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def validation_batch_size(val_batch_size, replicas):
    """The global validation batch: ``val_batch_size`` (authors: 1), raised to a multiple of
    the replicas so that each gets the same share."""
    return -(-max(val_batch_size, replicas) // replicas) * replicas


def validation_pairs(pairs, input_shape, batch_size, replicas=1):
    """Validation batches ``((source, target), label, weight)`` in file order.

    With one replica the last batch may be short (weights all 1). With more, the set is padded
    to whole batches by repeating its first pair with weight 0, so that every replica gets a
    non-empty share of every batch and the weighted means are over the real pairs only.
    """
    sources = [source for source, _ in pairs]
    targets = [target for _, target in pairs]
    weights = [1.0] * len(pairs)
    if replicas > 1:
        padding = -len(pairs) % batch_size
        sources += sources[:1] * padding
        targets += targets[:1] * padding
        weights += [0.0] * padding
    dataset = tf.data.Dataset.from_tensor_slices((sources, targets, weights))
    decode = _decode_pair(input_shape[:2])

    def decode_weighted(source, target, weight):
        images, label = decode(source, target)
        return images, label, weight

    dataset = dataset.map(decode_weighted, num_parallel_calls=AUTOTUNE)
    return _shard_by_data(dataset.batch(batch_size).prefetch(AUTOTUNE))


def decoded_images(paths, input_shape):
    """A ``tf.data`` dataset of the images at ``paths``, decoded and resized to ``input_shape``."""
    size = (int(input_shape[0]), int(input_shape[1]))
    dataset = tf.data.Dataset.from_tensor_slices(tf.constant(list(paths), dtype=tf.string))
    return dataset.map(
        lambda path: decode_image(path, size), num_parallel_calls=tf.data.AUTOTUNE
    )
