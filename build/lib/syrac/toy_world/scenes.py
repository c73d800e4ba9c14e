"""Scenes of the toy world: where the people stand, and how a scene becomes an image and a mask.

A scene is a background seed plus a list of people, each standing at a foot point (x, y) with a
height given by perspective: people lower in the image are nearer and taller; denser scenes are
seen from further away, so their people are smaller. People are drawn far to near, so nearer
ones occlude farther ones. Rendering returns the RGB image and an instance mask (0 = background,
i = person i), from which every count in the world is read back: a person that ends up hidden
behind others is removed from the scene before its image is written, so the number of people in
a scene is always the number of people one can see.
"""

import dataclasses
import functools

import numpy as np
from skimage import draw

from syrac.toy_world.styles import BACKGROUNDS, STYLES

HORIZON_MARGIN = 0.22  # fraction of the height above which nobody stands (sky, walls)
MIN_VISIBLE_FRACTION = 0.3  # a person hidden more than this is taken out of the scene
MAX_OVERLAP = 0.35  # placement tries to keep every pair of person boxes below this IoU
PLACEMENT_TRIES = 20


@dataclasses.dataclass(frozen=True)
class Person:
    """One person: foot point, height in pixels, clothes and skin colours."""

    x: float
    y: float
    height: float
    clothes: tuple
    skin: tuple

    def box(self):
        """(top, left, bottom, right) of the person's extent."""
        half_width = 0.22 * self.height
        return (self.y - self.height, self.x - half_width, self.y, self.x + half_width)


@dataclasses.dataclass(frozen=True)
class Scene:
    """A background and the people standing on it; rendering is a pure function of a scene."""

    height: int
    width: int
    style: str
    background_seed: int
    people: tuple

    @property
    def count(self):
        return len(self.people)

    def without(self, removed):
        """The same scene with the people at indices ``removed`` taken out."""
        removed = set(removed)
        kept = tuple(f for i, f in enumerate(self.people) if i not in removed)
        return dataclasses.replace(self, people=kept)


def _iou(a, b):
    top, left = max(a[0], b[0]), max(a[1], b[1])
    bottom, right = min(a[2], b[2]), min(a[3], b[3])
    overlap = max(0.0, bottom - top) * max(0.0, right - left)
    area = lambda box: (box[2] - box[0]) * (box[3] - box[1])  # noqa: E731
    return overlap / (area(a) + area(b) - overlap + 1e-9)


def person_height(y, image_height, zoom):
    """Perspective: a person's height in pixels for a foot at row ``y``."""
    ground = max(0.0, (y / image_height - HORIZON_MARGIN) / (1 - HORIZON_MARGIN))
    return image_height * zoom * (0.08 + 0.24 * ground)


def scene_zoom(rng, people):
    """How close the camera is: random, and further away for denser crowds."""
    return rng.uniform(0.75, 1.25) * min(1.0, (15.0 / max(people, 1)) ** 0.3)


def _jitter(rng, palette, amount):
    colour = np.asarray(palette[rng.integers(len(palette))], dtype=float)
    return tuple(np.clip(colour + rng.uniform(-amount, amount, 3), 0, 1).round(4).tolist())


def place_people(rng, people, height, width, style):
    """Place ``people`` persons with perspective, keeping overlaps small where there is room."""
    zoom = scene_zoom(rng, people)
    placed, boxes = [], []
    for _ in range(people):
        best, best_overlap = None, np.inf
        for _ in range(PLACEMENT_TRIES):
            y = rng.uniform(HORIZON_MARGIN * height + 0.1 * height * zoom, height)
            candidate = Person(
                x=float(rng.uniform(0, width)), y=float(y),
                height=float(person_height(y, height, zoom)),
                clothes=_jitter(rng, style.clothes, 0.08), skin=_jitter(rng, style.skin, 0.05),
            )
            overlap = max((_iou(candidate.box(), box) for box in boxes), default=0.0)
            if overlap < best_overlap:
                best, best_overlap = candidate, overlap
            if overlap < MAX_OVERLAP:
                break
        placed.append(best)
        boxes.append(best.box())
    return placed


def _pawn_parts(person, shape):
    """Pixel coordinates of a pawn's body (oval) and head (disk)."""
    h, x, y = person.height, person.x, person.y
    body = draw.ellipse(y - 0.36 * h, x, 0.36 * h, 0.19 * h, shape=shape)
    head = draw.disk((y - 0.83 * h, x), max(0.14 * h, 0.8), shape=shape)
    return [(body, person.clothes), (head, person.skin)]


def _walker_parts(person, shape):
    """Pixel coordinates of a walker's legs, torso (boxes) and head (a squarish oval)."""
    h, x, y = person.height, person.x, person.y
    legs_top, torso_top = y - 0.4 * h, y - 0.76 * h
    parts = []
    for offset in (-0.09 * h, 0.03 * h):
        left = draw.rectangle((legs_top, x + offset), (y - 1, x + offset + 0.07 * h), shape=shape)
        parts.append((left, tuple(0.6 * c for c in person.clothes)))
    torso = draw.rectangle((torso_top, x - 0.15 * h), (legs_top, x + 0.15 * h), shape=shape)
    parts.append((torso, person.clothes))
    head = draw.ellipse(y - 0.87 * h, x, 0.11 * h + 0.5, 0.09 * h + 0.5, shape=shape)
    parts.append((head, person.skin))
    return parts


SHAPES = {"pawn": _pawn_parts, "walker": _walker_parts}


@functools.lru_cache(maxsize=8192)
def person_parts(person, shape_name, canvas_shape):
    """A person's parts as ``[((rows, cols), colour), ...]``; cached, as a scene is drawn
    several times (visibility check, source, each target)."""
    return SHAPES[shape_name](person, canvas_shape)


def render(scene, noise_seed=0, tint=(1.0, 1.0, 1.0)):
    """Draw a scene: return (uint8 image (H, W, 3), int32 instance mask (H, W)).

    ``noise_seed`` and ``tint`` vary the pixel noise and the global colour balance without moving
    anything: a regenerated copy of the same scene.
    """
    style = STYLES[scene.style]
    background_rng = np.random.default_rng(scene.background_seed)
    image = BACKGROUNDS[scene.style](background_rng, scene.height, scene.width)
    mask = np.zeros((scene.height, scene.width), np.int32)
    order = sorted(range(scene.count), key=lambda i: scene.people[i].y)
    for index in order:
        for (rows, cols), colour in person_parts(scene.people[index], style.shape, mask.shape):
            rows, cols = np.asarray(rows, int), np.asarray(cols, int)
            image[rows, cols] = colour
            mask[rows, cols] = index + 1
    noise_rng = np.random.default_rng(noise_seed)
    image = image * np.asarray(tint) + noise_rng.normal(0, style.pixel_noise, image.shape)
    return (np.clip(image, 0, 1) * 255).round().astype(np.uint8), mask


def visible_fractions(scene):
    """Fraction of each person's own pixels left visible in the rendered scene."""
    _, mask = render(scene)
    visible = np.bincount(mask.ravel(), minlength=scene.count + 1)[1:]
    shape_name = STYLES[scene.style].shape
    alone = np.zeros(scene.count)
    canvas = np.zeros(mask.shape, bool)
    for index, person in enumerate(scene.people):
        canvas[:] = False
        for (rows, cols), _ in person_parts(person, shape_name, mask.shape):
            canvas[rows, cols] = True
        alone[index] = canvas.sum()
    return visible / np.maximum(alone, 1)


def make_scene(rng, people, height, width, style_name):
    """A scene of (at most) ``people`` visible people; hidden or sub-pixel people are dropped."""
    style = STYLES[style_name]
    placed = place_people(rng, people, height, width, style)
    scene = Scene(height, width, style_name, int(rng.integers(2**31)), tuple(placed))
    fractions = visible_fractions(scene)
    hidden = [i for i, fraction in enumerate(fractions) if fraction < MIN_VISIBLE_FRACTION]
    return scene.without(hidden) if hidden else scene
