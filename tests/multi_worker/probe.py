"""One worker of a probe cluster: what the strategy does to our pipelines and to Keras's ``fit``.

Run by ``test_two_workers.py`` as ``python -m tests.multi_worker.probe PAIRS_JSON OUT_JSON`` in
each of two processes with their ``TF_CONFIG``. It writes, for this worker: the pair numbers of
its share of every training and validation batch (the images are solid grey levels that encode
their pair's number), and what unpatched Keras raises under the strategy.
"""

import json
import sys

import numpy as np

from syrac.rank.multi_worker import create_strategy, read_cluster

STEPS = 2  # epochs of the schedule read


def pair_numbers(images):
    """Pair numbers of a batch of solid images whose grey level is 10 * number + 5."""
    levels = np.asarray(images)[:, 0, 0, 0] * 255.0
    return [int(round((level - 5) / 10)) for level in levels]


def main(pairs_path, out_path):
    cluster = read_cluster()
    strategy = create_strategy()  # before any other TensorFlow op
    from syrac.rank.multi_worker_fixes import unpatched_fit_failures
    from syrac.rank.pipeline import (
        steps_per_epoch,
        training_schedule,
        validation_batch_size,
        validation_pairs,
    )

    document = json.load(open(pairs_path, encoding="utf-8"))
    shape, batch = document["input_shape"], document["batch_size"]
    replicas = strategy.num_replicas_in_sync
    schedule = training_schedule(document["train"], shape, batch, epochs=2, seed=3,
                                 shuffle_buffer=64)
    steps = steps_per_epoch(len(document["train"]), batch)
    train = []
    for step, ((source, _), _) in enumerate(strategy.experimental_distribute_dataset(schedule)):
        train.append(pair_numbers(strategy.experimental_local_results(source)[0]))
        if step + 1 == 2 * steps:
            break
    val_batch = validation_batch_size(document["val_batch_size"], replicas)
    validation = []
    for (source, _), _, weight in strategy.experimental_distribute_dataset(
            validation_pairs(document["val"], shape, val_batch, replicas)):
        numbers = pair_numbers(strategy.experimental_local_results(source)[0])
        weights = np.asarray(strategy.experimental_local_results(weight)[0]).tolist()
        validation.append([n for n, w in zip(numbers, weights) if w > 0] + [None] * weights.count(0.0))
    result = {
        "worker": cluster.worker_id, "replicas": replicas, "steps_per_epoch": steps,
        "train": train, "validation": validation,
        "unpatched": unpatched_fit_failures(strategy),
    }
    with open(out_path, "w", encoding="utf-8") as handle:
        json.dump(result, handle)


if __name__ == "__main__":
    main(*sys.argv[1:])
