"""The toy crowd world: determinism, formats, exact counts, removals, and the noise model."""

import dataclasses
import filecmp
import os

import numpy as np
import pytest
from PIL import Image

from syrac.common.annotations import load_count_set, load_ranking_set
from syrac.common.errors import SyracError
from syrac.common.files import read_json
from syrac.toy_world.noise_model import (
    ERROR_CURVE,
    CountNoise,
    mean_relative_error_of_sigma,
)
from syrac.toy_world.scenes import (
    MIN_VISIBLE_FRACTION,
    make_scene,
    render,
    visible_fractions,
)
from syrac.toy_world.world import (
    BENCH,
    NOISY,
    RANK,
    WORLD_FILE,
    WorldConfig,
    generate_world,
    load_or_generate_world,
)

TINY = WorldConfig(height=40, width=52, max_people=100, rank_scenes=10, rank_variants=2,
                   noisy_counts=(1, 10, 40), noisy_per_count=3, bench_images=8, seed=3)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("world")
    return generate_world(str(folder), TINY, verbose=False)


def _mask_count(data_dir, relative):
    ids = np.unique(np.asarray(Image.open(os.path.join(data_dir, relative))))
    return int(np.count_nonzero(ids))


def test_the_same_seed_writes_the_same_world_byte_for_byte(world, tmp_path):
    again = generate_world(str(tmp_path), TINY, verbose=False)
    for dataset in (RANK, NOISY, BENCH):
        first, second = os.path.join(world, dataset), os.path.join(again, dataset)
        names = sorted(os.listdir(os.path.join(first, "images")))
        assert names == sorted(os.listdir(os.path.join(second, "images")))
        match, mismatch, errors = filecmp.cmpfiles(
            os.path.join(first, "images"), os.path.join(second, "images"), names, shallow=False)
        assert mismatch == [] and errors == []
        assert read_json(os.path.join(first, "annotations.json")) == read_json(
            os.path.join(second, "annotations.json"))


def test_another_seed_draws_another_world(world, tmp_path):
    other = generate_world(str(tmp_path), dataclasses.replace(TINY, seed=4), verbose=False)
    first = read_json(os.path.join(world, BENCH, "annotations.json"))["test"]
    second = read_json(os.path.join(other, BENCH, "annotations.json"))["test"]
    assert [e["count"] for e in first] != [e["count"] for e in second]


def test_the_datasets_pass_the_projects_own_validation(world):
    splits = load_ranking_set(world, RANK)
    assert len(splits["train"]) + len(splits["val"]) == TINY.rank_scenes * TINY.rank_variants
    assert len(splits["val"]) == TINY.rank_variants  # 10% of 10 scenes, both variants
    noisy = load_count_set(world, NOISY)
    assert sorted({count for _, count in noisy}) == [1.0, 10.0, 40.0]
    assert len(noisy) == len(TINY.noisy_counts) * TINY.noisy_per_count
    assert len(load_count_set(world, BENCH, split="test")) == TINY.bench_images
    for path, _ in noisy[:3]:
        assert Image.open(path).size == (TINY.width, TINY.height)


def test_benchmark_counts_are_exact_when_counted_back_from_the_masks(world):
    entries = read_json(os.path.join(world, BENCH, "annotations.json"))["test"]
    counts = [entry["count"] for entry in entries]
    assert counts == [_mask_count(world, entry["mask"]) for entry in entries]
    assert max(counts) > 10  # the test is not vacuous: real crowds are counted


def test_every_target_has_fewer_people_than_its_source(world):
    document = read_json(os.path.join(world, RANK, "annotations.json"))
    pairs = document["train"] + document["val"]
    for pair in pairs:
        info = pair["info"]
        assert info["type"] == "toy_people_removed"
        source = _mask_count(world, info["source_mask"])
        target = _mask_count(world, info["target_mask"])
        assert (source, target) == (info["source_count"], info["target_count"])
        assert target < source
    train_sources = {pair["source_image"] for pair in document["train"]}
    assert train_sources.isdisjoint(pair["source_image"] for pair in document["val"])


def test_removal_restores_the_background_and_keeps_the_others_in_place():
    rng = np.random.default_rng(0)
    scene = make_scene(rng, 12, 48, 64, "generated")
    target = scene.without([0, 1, 2])
    source_image, source_mask = render(scene)
    target_image, target_mask = render(target)
    removed = np.isin(source_mask, [1, 2, 3]) & (target_mask == 0)
    empty = render(scene.without(range(scene.count)))[0]
    assert removed.any()
    np.testing.assert_array_equal(target_image[removed], empty[removed])
    untouched = ~np.isin(source_mask, [1, 2, 3]) & (source_mask > 0)
    np.testing.assert_array_equal(target_image[untouched], source_image[untouched])


def test_every_figure_in_a_crowded_scene_stays_visible():
    scene = make_scene(np.random.default_rng(1), 150, 40, 52, "benchmark")
    assert 0 < scene.count <= 150
    assert visible_fractions(scene).min() >= MIN_VISIBLE_FRACTION
    assert len(np.unique(render(scene)[1])) - 1 == scene.count


@pytest.mark.parametrize("asked", [10, 20, 40, 100])
def test_noise_model_mean_relative_error_follows_the_curve(asked):
    noise = CountNoise()
    rng = np.random.default_rng(asked)
    drawn = np.array([noise.sample(rng, asked) for _ in range(4000)])
    relative = np.abs(drawn / asked - 1)
    expected = noise.relative_error(asked)
    assert relative.mean() == pytest.approx(expected, abs=0.03)
    assert np.median(drawn) == pytest.approx(asked, rel=0.06)


def test_noise_model_curve_points_scale_and_zero():
    noise = CountNoise()
    for n, error in ERROR_CURVE:
        assert mean_relative_error_of_sigma(noise.sigma(n)) == pytest.approx(error, abs=1e-6)
    assert noise.relative_error(100) == ERROR_CURVE[-1][1]
    rng = np.random.default_rng(0)
    assert {CountNoise(scale=0).sample(rng, 37) for _ in range(50)} == {37}
    assert noise.sample(rng, 0) == 0
    wide = np.std(np.log([CountNoise(scale=2).sample(rng, 1000) for _ in range(2000)]))
    assert wide == pytest.approx(2 * noise.sigma(1000), rel=0.1)


def test_written_noisy_set_follows_the_noise_model(tmp_path):
    config = dataclasses.replace(TINY, rank_scenes=1, bench_images=1, noisy_counts=(40,),
                                 noisy_per_count=300, height=24, width=32)
    data_dir = generate_world(str(tmp_path), config, verbose=False)
    entries = read_json(os.path.join(data_dir, NOISY, "annotations.json"))
    assert {entry["count"] for entry in entries} == {40}
    placed = np.array([entry["placed"] for entry in entries])
    assert np.mean(np.abs(placed / 40 - 1)) == pytest.approx(0.60, abs=0.08)
    assert all(entry["drawn"] == _mask_count(data_dir, entry["mask"]) for entry in entries[:20])


@pytest.mark.parametrize("field, value, message", [
    ("height", 8, "at least 16x16"),
    ("max_people", 1, "max_people"),
    ("rank_val_fraction", 1.0, "rank_val_fraction"),
    ("removal_range", (0.8, 0.2), "removal_range"),
    ("noisy_counts", (0, 5), "noisy_counts"),
    ("noise_scale", -1, "scale"),
    ("noise_curve", ((10, 0.2), (5, 0.1)), "increasing N"),
])
def test_nonsense_world_settings_are_refused_by_name(field, value, message):
    with pytest.raises(SyracError, match=message):
        dataclasses.replace(TINY, **{field: value}).check()


def test_a_cached_world_is_reused_and_an_incomplete_one_regenerated(tmp_path):
    config = dataclasses.replace(TINY, rank_scenes=2, noisy_counts=(3,), bench_images=2)
    data_dir = load_or_generate_world(str(tmp_path), config, verbose=False)
    folder = os.path.dirname(data_dir)
    stamp = os.path.getmtime(os.path.join(folder, WORLD_FILE))
    assert load_or_generate_world(str(tmp_path), config, verbose=False) == data_dir
    assert os.path.getmtime(os.path.join(folder, WORLD_FILE)) == stamp
    os.remove(os.path.join(folder, WORLD_FILE))  # as if generation had been interrupted
    os.remove(os.path.join(data_dir, BENCH, "annotations.json"))
    assert load_or_generate_world(str(tmp_path), config, verbose=False) == data_dir
    assert load_count_set(data_dir, BENCH, split="test")


def test_a_world_with_empty_scenes_adds_them_to_a_second_noisy_set(world, tmp_path):
    from syrac.toy_world.world import NOISY_EMPTY

    with_empty = dataclasses.replace(TINY, noisy_empty=3)
    data = generate_world(str(tmp_path), with_empty, verbose=False)
    plain = load_count_set(data, NOISY)
    extended = load_count_set(data, NOISY_EMPTY)
    assert extended[:len(plain)] == plain  # the same noisy set, then the empty scenes
    added = read_json(os.path.join(data, NOISY_EMPTY, "annotations.json"))[len(plain):]
    assert [entry["count"] for entry in added] == [0, 0, 0]
    assert all(_mask_count(data, entry["mask"]) == 0 for entry in added)  # nobody drawn
    before = read_json(os.path.join(world, BENCH, "annotations.json"))
    assert read_json(os.path.join(data, BENCH, "annotations.json")) == before  # bench unchanged
    # A world drawn before the field existed keeps its folder: the default is not hashed.
    assert "noisy_empty" not in TINY.to_json() and with_empty.digest() != TINY.digest()
