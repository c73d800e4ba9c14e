"""The two looks of the toy world: what the "diffusion model" draws, and what the benchmark shows.

The paper fits its count head on generated images and tests it on photographs: a domain gap. The toy
world keeps one: the generated style has sky-to-grass gradients and round "pawn" people in bright
clothes; the benchmark style has paved squares and square-headed people with legs, in darker
clothes under a warmer light. Backgrounds and palettes are drawn per image from a style's ranges.
"""

import dataclasses

import numpy as np
from skimage.transform import resize


@dataclasses.dataclass(frozen=True)
class Style:
    """Everything that distinguishes one look from the other.

    Attributes:
        name: ``"generated"`` or ``"benchmark"``.
        shape: person shape, ``"pawn"`` (disk head, oval body) or ``"walker"`` (square head,
            box torso, two legs).
        clothes: RGB colours (0-1) clothes are drawn from, jittered per person.
        skin: RGB colours heads are drawn from.
        pixel_noise: standard deviation of the per-pixel noise added to a rendered image.
        image_format: ``"png"`` or ``"jpg"``.
    """

    name: str
    shape: str
    clothes: tuple
    skin: tuple
    pixel_noise: float
    image_format: str


GENERATED = Style(
    name="generated",
    shape="pawn",
    clothes=((0.85, 0.15, 0.15), (0.15, 0.35, 0.85), (0.95, 0.8, 0.1), (0.9, 0.9, 0.9),
             (0.2, 0.7, 0.3), (0.8, 0.3, 0.8)),
    skin=((0.96, 0.8, 0.65), (0.75, 0.55, 0.4), (0.45, 0.3, 0.2)),
    pixel_noise=0.02,
    image_format="png",
)

BENCHMARK = Style(
    name="benchmark",
    shape="walker",
    clothes=((0.1, 0.1, 0.12), (0.35, 0.25, 0.2), (0.25, 0.3, 0.4), (0.5, 0.1, 0.1),
             (0.6, 0.6, 0.55), (0.15, 0.3, 0.2)),
    skin=((0.9, 0.72, 0.55), (0.6, 0.42, 0.3), (0.3, 0.2, 0.15)),
    pixel_noise=0.035,
    image_format="jpg",
)

STYLES = {style.name: style for style in (GENERATED, BENCHMARK)}


def _smooth_noise(rng, height, width, cells, amplitude):
    """Low-frequency noise: a coarse random grid upsampled smoothly to the image size."""
    coarse = rng.standard_normal((cells, cells, 1)) * amplitude
    return resize(coarse, (height, width, 1), order=3, mode="reflect")


def generated_background(rng, height, width):
    """A sky band over a grassy or sandy field, with soft blotches."""
    horizon = rng.uniform(0.1, 0.3)
    sky = np.array([0.55, 0.75, 0.95]) + rng.uniform(-0.1, 0.05, 3)
    ground = np.array(rng.choice([[0.35, 0.6, 0.25], [0.8, 0.72, 0.5], [0.5, 0.55, 0.5]]))
    ground = ground + rng.uniform(-0.08, 0.08, 3)
    rows = (np.arange(height) / height)[:, None, None]
    blend = np.clip((rows - horizon) / 0.05, 0, 1)
    image = (1 - blend) * sky + blend * ground * (0.8 + 0.4 * rows)
    image = np.broadcast_to(image, (height, width, 3)).copy()
    return image + _smooth_noise(rng, height, width, 6, 0.06)


def benchmark_background(rng, height, width):
    """A building wall over a paved square of tiles that shrink towards the horizon."""
    wall_height = rng.uniform(0.05, 0.25)
    wall = np.array([0.55, 0.45, 0.4]) + rng.uniform(-0.15, 0.15, 3)
    paving = np.array([0.6, 0.58, 0.52]) + rng.uniform(-0.12, 0.12, 3)
    rows, cols = np.mgrid[0:height, 0:width] / height
    depth = 1.0 / (0.15 + np.clip(rows - wall_height, 0, None))  # tiles shrink far away
    tile = 0.12 * rng.uniform(0.8, 1.2)
    grout = ((np.mod(depth * tile * 6, 1) < 0.12)
             | (np.mod(cols / (0.3 + rows) / tile * 0.6, 1) < 0.08))
    image = np.where(grout[..., None], paving * 0.7, paving)
    image = np.where((rows < wall_height)[..., None], wall, image)
    windows = ((np.mod(cols * 9, 1) < 0.4) & (np.mod(rows * 30, 1) < 0.5)
               & (rows < wall_height - 0.02))
    image = np.where(windows[..., None], wall * 0.5, image)
    return image + _smooth_noise(rng, height, width, 10, 0.04)


BACKGROUNDS = {"generated": generated_background, "benchmark": benchmark_background}
