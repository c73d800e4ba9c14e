"""The tf.data schedule: per-epoch shuffles fixed by the seed, exact skipping for resumption."""

import numpy as np
import pytest

from syrac.common.annotations import load_count_set, load_ranking_set
from syrac.common.images import decode_image
from syrac.fixtures import make_count_set, make_ranking_set
from syrac.rank.pipeline import (
    decoded_images,
    steps_per_epoch,
    training_schedule,
    validation_batch_size,
    validation_pairs,
)

SHAPE = (32, 48, 3)


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipeline")
    make_ranking_set(str(root), "rank", train_pairs=7, val_pairs=3)
    make_count_set(str(root), "synth", images=5)
    return root, load_ranking_set(str(root), "rank")


def _first_pixels(dataset):
    return [source.numpy()[:, 5, 5, 0].round(5).tolist() for (source, _), _ in dataset]


@pytest.mark.parametrize("seed", [0, 11])
def test_schedule_is_deterministic_and_skips_exactly(pairs, seed):
    _, splits = pairs
    full = _first_pixels(training_schedule(splits["train"], SHAPE, 2, 3, seed, 100))
    assert len(full) == 3 * steps_per_epoch(7, 2) == 9
    again = _first_pixels(training_schedule(splits["train"], SHAPE, 2, 3, seed, 100))
    assert again == full
    resumed = _first_pixels(training_schedule(splits["train"], SHAPE, 2, 3, seed, 100, start_step=4))
    assert resumed == full[4:]
    assert full[0:3] != full[3:6]  # every epoch has its own order


def test_batches_hold_pairs_and_label_one(pairs):
    _, splits = pairs
    (source, target), label = next(iter(training_schedule(splits["train"], SHAPE, 2, 1, 0, 10)))
    assert source.shape == target.shape == (2, *SHAPE)
    np.testing.assert_array_equal(label.numpy(), np.ones((2, 1)))


def test_validation_keeps_order_and_last_short_batch(pairs):
    _, splits = pairs
    batches = list(validation_pairs(splits["val"], SHAPE, 2))
    assert [source.shape[0] for (source, _), _, _ in batches] == [2, 1]
    assert [weight.numpy().tolist() for _, _, weight in batches] == [[1.0, 1.0], [1.0]]


def test_validation_for_replicas_pads_whole_batches_with_weight_zero(pairs):
    _, splits = pairs  # 3 validation pairs
    batch = validation_batch_size(1, replicas=2)
    assert batch == 2 and validation_batch_size(3, 2) == 4 and validation_batch_size(4, 4) == 4
    batches = list(validation_pairs(splits["val"], SHAPE, batch, replicas=2))
    assert [source.shape[0] for (source, _), _, _ in batches] == [2, 2]
    assert [weight.numpy().tolist() for _, _, weight in batches] == [[1.0, 1.0], [1.0, 0.0]]
    (padding, _), _, _ = batches[1]
    (first, _), _, _ = batches[0]
    np.testing.assert_array_equal(padding[1].numpy(), first[0].numpy())  # the first pair again


def test_weighted_validation_means_are_over_real_pairs_only(pairs):
    """A padded pair changes neither the loss nor the accuracy ``evaluate`` reports."""
    import keras

    from syrac.common.config import load_params
    from syrac.rank.ranking_model import build_ranking_model, compile_ranking_model

    _, splits = pairs
    params, _ = load_params("config", "tiny", {"input_shape": list(SHAPE), "augment": 0})
    keras.utils.set_random_seed(1)
    params["num_layers"] = 0
    model = compile_ranking_model(build_ranking_model(params), params)
    score = model.rank_decoder.get_layer("score")
    kernel = np.random.default_rng(0).uniform(0, 1, score.kernel.shape)
    score.set_weights([kernel, np.ones(1)])  # a live ReLU: every pair gets its own score
    plain = model.evaluate(validation_pairs(splits["val"], SHAPE, 1), verbose=0)
    padded = model.evaluate(validation_pairs(splits["val"], SHAPE, 2, replicas=2), verbose=0)
    per_pair = [model.evaluate(validation_pairs([pair], SHAPE, 1), verbose=0)[0]
                for pair in splits["val"]]
    # The three evaluations run the network at batch sizes 1 and 2, for which oneDNN picks
    # other kernels (AVX2 or AVX-512): the same float32 sums in another order. 1e-5 relative
    # is about 80 float32 epsilons, above the 3e-6 seen on an AVX2 EPYC with ResNet50 and far
    # below the shift a counted padding pair would make (checked first: 100 times above it).
    tolerance = 1e-5
    assert np.ptp(per_pair) / (len(per_pair) + 1) > 100 * tolerance * np.mean(per_pair)
    np.testing.assert_allclose(padded, plain, rtol=tolerance)
    np.testing.assert_allclose(plain[0], np.mean(per_pair), rtol=tolerance)


def test_decoded_images_in_file_order(pairs):
    root, _ = pairs
    paths = [path for path, _ in load_count_set(str(root), "synth")]
    decoded = [image.numpy() for image in decoded_images(paths, SHAPE)]
    assert len(decoded) == len(paths)
    for path, image in zip(paths, decoded):
        np.testing.assert_array_equal(image, decode_image(path, SHAPE[:2]).numpy())


def test_both_pipelines_are_sharded_by_data_between_workers(pairs):
    """FILE sharding cannot split a list of paths; OFF would give each worker other pairs."""
    import tensorflow as tf

    _, splits = pairs
    data = tf.data.experimental.AutoShardPolicy.DATA
    for dataset in (training_schedule(splits["train"], SHAPE, 2, 1, 0, 10),
                    validation_pairs(splits["val"], SHAPE, 2, replicas=2)):
        assert dataset.options().experimental_distribute.auto_shard_policy == data
