"""Writes the toy world to disk: the three datasets SYRAC needs, in the formats of docs/DESIGN.md §3.

``generate_world(folder, config)`` writes, under ``folder/data``:

- ``toy_rank``: ranking pairs ``{"train": [...], "val": [...]}``. A source is a generated-style
  scene; its target is the same scene with a random subset of its people removed and the background
  restored, re-rendered with fresh pixel noise and a slight colour cast, as a diffusion model's
  regenerated copy would be. ``info.type`` is ``"toy_people_removed"``; ``info`` also records both
  counts. Several targets (variants) per source; train and val never share a source scene.
- ``toy_noisy``: the noisy synthetic count set, a plain list ``[{"image", "count"}]``. For each
  requested count N, images drawn with a number of people that strays from N as a diffusion
  model's does (:mod:`syrac.toy_world.noise_model`); ``count`` is N (the prompt), ``placed`` the
  number the noise model chose, ``drawn`` the number visible (a person hidden behind others is
  left out).
- ``toy_bench``: the "real" benchmark ``{"test": [...]}`` in the benchmark style, with exact
  counts.

Every image comes with its instance mask (``mask`` beside ``image`` in the annotations; a 16-bit
PNG, 0 = background, i = person i), from which every count can be checked, and which a
density-map method could train on.

Every image is a pure function of (config, dataset, index), so a world is reproducible from its
``world.json``. The folder is complete when ``world.json`` exists (it is written last);
:func:`load_or_generate_world` reuses a complete folder whose config matches and regenerates an
incomplete one.
"""

import dataclasses
import hashlib
import json
import os

import numpy as np
from PIL import Image

from syrac.common.errors import SyracError
from syrac.common.files import read_json, write_json_atomic
from syrac.common.numbers import SEED_RANGE, as_seed
from syrac.common.progress import progress_bar
from syrac.toy_world.noise_model import ERROR_CURVE, CountNoise
from syrac.toy_world.scenes import make_scene, render
from syrac.toy_world.styles import STYLES

RANK, NOISY, BENCH = "toy_rank", "toy_noisy", "toy_bench"
NOISY_EMPTY = "toy_noisy_empty"
WORLD_FILE = "world.json"
_DATASET_IDS = {RANK: 1, NOISY: 2, BENCH: 3, NOISY_EMPTY: 4}
# Fields added after worlds were first cached: left out of the config's JSON at their default, so
# that the worlds drawn before keep their folder (their digest).
_ADDED_LATER = {"noisy_empty": 0}


@dataclasses.dataclass
class WorldConfig:
    """What a toy world holds. Defaults are the demo's; every field is recorded in world.json.

    Attributes:
        height, width: image size in pixels (every dataset).
        max_people: the most people in a ranking source or benchmark image (at least 100 in the
            demo); noisy-count requests go up to it too.
        rank_scenes: source scenes of the ranking set; each gives ``rank_variants`` pairs.
        rank_variants: targets per source (different people removed, different noise).
        rank_val_fraction: fraction of source scenes held out as the ``val`` split.
        removal_range: each target keeps a fraction U(1 - high, 1 - low) of its source's
            people; at least one person is always removed.
        noisy_counts: the counts N the "diffusion model" is asked for.
        noisy_per_count: images per requested count.
        noise_curve / noise_scale: the noise model (:class:`CountNoise`).
        bench_images: test images of the benchmark; counts spread log-uniformly over
            0..max_people.
        seed: the world's seed.
    """

    height: int = 96
    width: int = 128
    max_people: int = 120
    rank_scenes: int = 330
    rank_variants: int = 2
    rank_val_fraction: float = 0.1
    removal_range: tuple = (0.2, 1.0)
    noisy_counts: tuple = (1, 2, 3, 5, 8, 10, 15, 20, 30, 40, 50, 60, 80, 100, 120)
    noisy_per_count: int = 10
    noise_curve: tuple = ERROR_CURVE
    noise_scale: float = 1.0
    bench_images: int = 100
    seed: int = 0
    noisy_empty: int = 0

    def to_json(self):
        """A JSON-ready dict (tuples as lists), stable enough to compare and hash."""
        document = json.loads(json.dumps(dataclasses.asdict(self)))
        for key, default in _ADDED_LATER.items():
            if document[key] == default:
                del document[key]
        return document

    def digest(self):
        """A short hash of the config: worlds with different configs never share a folder."""
        text = json.dumps(self.to_json(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:10]

    def check(self):
        """Refuse nonsense, naming the field."""
        positive = ("height", "width", "rank_scenes", "rank_variants", "noisy_per_count",
                    "bench_images")
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise SyracError(f"toy world: {name} must be a positive integer. Received: {value!r}")
        if min(self.height, self.width) < 16:
            raise SyracError(f"toy world: images must be at least 16x16. Received: "
                             f"{self.height}x{self.width}")
        if not isinstance(self.max_people, int) or self.max_people < 2:
            raise SyracError(f"toy world: max_people must be an integer >= 2. "
                             f"Received: {self.max_people!r}")
        if not 0 < self.rank_val_fraction < 1:
            raise SyracError(f"toy world: rank_val_fraction must lie in (0, 1). "
                             f"Received: {self.rank_val_fraction}")
        low, high = self.removal_range
        if not 0 <= low <= high <= 1:
            raise SyracError(f"toy world: removal_range must satisfy 0 <= low <= high <= 1. "
                             f"Received: {self.removal_range}")
        if not self.noisy_counts or any(int(n) != n or n < 1 for n in self.noisy_counts):
            raise SyracError(f"toy world: noisy_counts must be integers >= 1. "
                             f"Received: {self.noisy_counts}")
        if isinstance(self.noisy_empty, bool) or not isinstance(self.noisy_empty, int) \
                or self.noisy_empty < 0:
            raise SyracError(f"toy world: noisy_empty must be an integer >= 0. "
                             f"Received: {self.noisy_empty!r}")
        if isinstance(self.seed, bool) or as_seed(self.seed) != self.seed:
            raise SyracError(f"toy world: seed must be {SEED_RANGE}. Received: {self.seed!r}")
        CountNoise(self.noise_curve, self.noise_scale)
        return self


def item_rng(config, dataset, index):
    """The random stream of one item: independent of every other item and of generation order."""
    return np.random.default_rng([config.seed, _DATASET_IDS[dataset], index])


def save_image(path, array, image_format):
    """Write an RGB uint8 image (PNG, or JPEG at quality 90 like a typical photo)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    image = Image.fromarray(array)
    if image_format == "jpg":
        image.save(path, format="JPEG", quality=90)
    else:
        image.save(path, format="PNG")


def save_mask(path, mask):
    """Write an instance mask as a 16-bit PNG (ids up to 65535)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(mask.astype(np.uint16)).save(path, format="PNG")


def _save_rendering(data_dir, image_path, style, image, mask):
    """Write an image and its mask (``images/x.ext`` -> ``masks/x.png``); return the mask path."""
    save_image(os.path.join(data_dir, image_path), image, style.image_format)
    mask_path = os.path.splitext(image_path.replace("/images/", "/masks/", 1))[0] + ".png"
    save_mask(os.path.join(data_dir, mask_path), mask)
    return mask_path


def log_uniform_count(rng, maximum):
    """A count in 0..maximum, spread evenly on a log(1 + n) scale like benchmark crowd sizes."""
    return int(np.floor(np.expm1(rng.uniform(0, np.log1p(maximum + 1))))) if maximum else 0


def ranking_pairs(config, data_dir, verbose=True):
    """Write the ranking set's images; return its annotations document."""
    style = STYLES["generated"]
    splits = {"train": [], "val": []}
    val_scenes = max(1, round(config.rank_scenes * config.rank_val_fraction))
    bar = progress_bar(config.rank_scenes, "scenes", enabled=verbose)
    for index in range(config.rank_scenes):
        rng = item_rng(config, RANK, index)
        split = "val" if index < val_scenes else "train"
        scene = make_scene(rng, int(rng.integers(1, config.max_people + 1)),
                           config.height, config.width, "generated")
        if scene.count == 0:  # every person hidden: an empty source cannot lose anyone
            scene = make_scene(rng, 1, config.height, config.width, "generated")
        source = f"{RANK}/images/{index:05d}_source.{style.image_format}"
        source_mask = _save_rendering(data_dir, source, style, *render(scene, noise_seed=index))
        for variant in range(config.rank_variants):
            low, high = config.removal_range
            fraction = rng.uniform(low, high)
            removed_count = min(scene.count, max(1, round(fraction * scene.count)))
            removed = rng.choice(scene.count, size=removed_count, replace=False)
            target_scene = scene.without(removed.tolist())
            tint = 1 + rng.uniform(-0.04, 0.04, 3)
            target = f"{RANK}/images/{index:05d}_target_{variant}.{style.image_format}"
            target_mask = _save_rendering(
                data_dir, target, style,
                *render(target_scene, noise_seed=int(rng.integers(2**31)), tint=tint))
            splits[split].append({
                "source_image": source,
                "target_image": target,
                "info": {"type": "toy_people_removed", "source_count": scene.count,
                         "target_count": target_scene.count, "variant": variant,
                         "source_mask": source_mask, "target_mask": target_mask},
            })
        bar.update(index + 1)
    return splits


def noisy_counts(config, data_dir, verbose=True):
    """Write the noisy synthetic count set's images; return its annotations document."""
    style = STYLES["generated"]
    noise = CountNoise(config.noise_curve, config.noise_scale)
    entries = []
    jobs = [(n, k) for n in config.noisy_counts for k in range(config.noisy_per_count)]
    bar = progress_bar(len(jobs), "images", enabled=verbose)
    for index, (asked, _) in enumerate(jobs):
        rng = item_rng(config, NOISY, index)
        drawn = noise.sample(rng, int(asked))
        scene = make_scene(rng, drawn, config.height, config.width, "generated")
        path = f"{NOISY}/images/{index:05d}_asked_{int(asked)}.{style.image_format}"
        mask = _save_rendering(data_dir, path, style, *render(scene, noise_seed=index))
        entries.append({"image": path, "count": int(asked), "drawn": scene.count,
                        "placed": drawn, "mask": mask})
        bar.update(index + 1)
    return entries


def noisy_counts_with_empty_scenes(config, data_dir, verbose=True):
    """``toy_noisy`` and ``noisy_empty`` more images of the same style with no one in them,
    labelled 0: what ``synth noisy-counts --counts 0`` adds to a real count set."""
    style = STYLES["generated"]
    entries = [dict(entry) for entry in read_json(os.path.join(data_dir, NOISY,
                                                                "annotations.json"))]
    bar = progress_bar(config.noisy_empty, "images", enabled=verbose)
    for index in range(config.noisy_empty):
        rng = item_rng(config, NOISY_EMPTY, index)
        scene = make_scene(rng, 0, config.height, config.width, "generated")
        path = f"{NOISY_EMPTY}/images/{index:05d}_asked_0.{style.image_format}"
        mask = _save_rendering(data_dir, path, style, *render(scene, noise_seed=10**6 + index))
        entries.append({"image": path, "count": 0, "drawn": scene.count, "placed": 0,
                        "mask": mask})
        bar.update(index + 1)
    return entries


def benchmark(config, data_dir, verbose=True):
    """Write the benchmark's images and masks; return its annotations document."""
    style = STYLES["benchmark"]
    entries = []
    bar = progress_bar(config.bench_images, "images", enabled=verbose)
    for index in range(config.bench_images):
        rng = item_rng(config, BENCH, index)
        scene = make_scene(rng, log_uniform_count(rng, config.max_people),
                           config.height, config.width, "benchmark")
        path = f"{BENCH}/images/{index:05d}.{style.image_format}"
        mask = _save_rendering(data_dir, path, style, *render(scene, noise_seed=index))
        entries.append({"image": path, "count": scene.count, "mask": mask})
        bar.update(index + 1)
    return {"test": entries}


def _write_annotations(data_dir, dataset, document):
    os.makedirs(os.path.join(data_dir, dataset), exist_ok=True)
    write_json_atomic(os.path.join(data_dir, dataset, "annotations.json"), document)


def generate_world(folder, config, verbose=True):
    """Write all three datasets under ``folder/data`` and ``folder/world.json`` (last)."""
    config.check()
    data_dir = os.path.join(folder, "data")
    makers = ((RANK, ranking_pairs, "ranking pairs"), (NOISY, noisy_counts, "noisy counts"),
              (BENCH, benchmark, "benchmark"))
    if config.noisy_empty:
        makers += ((NOISY_EMPTY, noisy_counts_with_empty_scenes,
                    "noisy counts with empty scenes"),)
    for dataset, maker, label in makers:
        if verbose:
            print(f"Toy world: drawing the {label} ({dataset})")
        _write_annotations(data_dir, dataset, maker(config, data_dir, verbose))
    write_json_atomic(os.path.join(folder, WORLD_FILE),
                      {"config": config.to_json(),
                       "datasets": [dataset for dataset, _, _ in makers]})
    return data_dir


def load_or_generate_world(cache_dir, config, verbose=True):
    """Return the data folder of the world for ``config``, generating it unless cached.

    Worlds live in ``cache_dir/<config digest>/``; a complete one (its ``world.json`` present and
    recording the same config) is reused as it is.
    """
    config.check()
    folder = os.path.join(cache_dir, config.digest())
    recorded = read_json(os.path.join(folder, WORLD_FILE), default=None)
    if recorded is not None:
        if recorded.get("config") != config.to_json():
            raise SyracError(f"{folder}: holds a toy world of another configuration; "
                             "remove the folder or choose another --cache")
        if verbose:
            print(f"Toy world: reusing {folder}")
        return os.path.join(folder, "data")
    return generate_world(folder, config, verbose)
