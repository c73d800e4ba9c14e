"""``tf.data`` pipelines: ranking pairs for pre-training, plain image lists for the probe.

The training pipeline is a *schedule*: every epoch's shuffled order is a pure function of
(seed, epoch), and each epoch holds exactly ``steps_per_epoch`` full batches (the authors'
``drop_remainder=True``). A run resumed at (epoch, batch) therefore sees exactly the batches it
had not yet trained on.
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
    return schedule.batch(batch_size, drop_remainder=True).prefetch(AUTOTUNE)


def validation_pairs(pairs, input_shape, batch_size):
    """Validation batches in file order, last batch possibly short (authors: batch 1)."""
    sources = [source for source, _ in pairs]
    targets = [target for _, target in pairs]
    dataset = tf.data.Dataset.from_tensor_slices((sources, targets))
    dataset = dataset.map(_decode_pair(input_shape[:2]), num_parallel_calls=AUTOTUNE)
    return dataset.batch(batch_size).prefetch(AUTOTUNE)


def decoded_images(paths, input_shape):
    """A ``tf.data`` dataset of the images at ``paths``, decoded and resized to ``input_shape``."""
    size = (int(input_shape[0]), int(input_shape[1]))
    dataset = tf.data.Dataset.from_tensor_slices(tf.constant(list(paths), dtype=tf.string))
    return dataset.map(
        lambda path: decode_image(path, size), num_parallel_calls=tf.data.AUTOTUNE
    )
