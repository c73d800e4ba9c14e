"""Prompts: the defaults for both jobs, and the count prompts built from templates.

Removing people is image-to-image (or inpainting) steered by a prompt that describes the place
without anyone in it and a negative prompt that names people, so guidance pushes away from them.

Noisy counts come from templates that name the count. A template may use four fields:
``{count}`` (the number, as digits; required), ``{people}`` ("person" or "people"), ``{scene}``
and ``{viewpoint}``. Templates are used in turn (item ``j`` of a count takes template
``j mod T``), so every template is equally represented; the scene and viewpoint are drawn with
the item's own seed, so an item's prompt never depends on which shard or batch it lands in.

A count of 0 asks for a scene without people: its items take :data:`EMPTY_TEMPLATES` (the
same ``{scene}`` and ``{viewpoint}`` fields; ``--templates`` applies to counts of 1 and more)
and :data:`EMPTY_NEGATIVE_PROMPT`, which names people so that guidance steers away from them.
SYRAC's own count set has no such image; the option exists because an empty scene otherwise
still gets a positive count from a probe without intercept.

These defaults are this project's choice: the paper does not publish its prompts.
"""

import string

import numpy as np

from syrac.common.errors import SyracError

REMOVAL_PROMPT = (
    "a realistic photograph of the same place, completely empty and deserted, "
    "no people, nobody, high quality"
)
REMOVAL_NEGATIVE_PROMPT = (
    "people, person, crowd, pedestrians, humans, man, woman, child, faces, heads, bodies, "
    "silhouettes"
)

COUNT_TEMPLATES = (
    "a photo of {count} {people} {scene}, {viewpoint}",
    "{count} {people} {scene}, {viewpoint}, realistic photograph",
    "a realistic photograph of exactly {count} {people} {scene}, {viewpoint}",
)
COUNT_SCENES = (
    "in a city square",
    "on a shopping street",
    "in a train station",
    "in a park",
    "in a stadium",
    "at an outdoor concert",
    "on a beach",
    "at a street market",
    "in a conference hall",
    "at a street march",
)
COUNT_VIEWPOINTS = (
    "seen from a high surveillance camera",
    "seen from above",
    "wide-angle view from a balcony",
    "eye-level view",
    "aerial view from a drone",
)
COUNT_NEGATIVE_PROMPT = (
    "blurry, low quality, distorted, deformed, cartoon, drawing, painting, text, watermark"
)

EMPTY_TEMPLATES = (
    "a photo of an empty place {scene} with no people at all, {viewpoint}",
    "a deserted place {scene}, nobody there, {viewpoint}, realistic photograph",
    "a realistic photograph of an empty place {scene}, no people, {viewpoint}",
)
EMPTY_NEGATIVE_PROMPT = COUNT_NEGATIVE_PROMPT + ", " + REMOVAL_NEGATIVE_PROMPT

TEMPLATE_FIELDS = ("count", "people", "scene", "viewpoint")


def check_templates(templates):
    """Refuse a template without ``{count}`` or with a field other than :data:`TEMPLATE_FIELDS`."""
    if not templates:
        raise SyracError("--templates needs at least one template")
    for template in templates:
        try:
            parsed = list(string.Formatter().parse(template))
        except ValueError as error:
            raise SyracError(f"--templates: cannot read {template!r}: {error}") from None
        fields = {name for _, name, _, _ in parsed if name is not None}
        unknown = sorted(fields - set(TEMPLATE_FIELDS))
        if unknown:
            raise SyracError(
                f"--templates: {template!r} uses unknown field(s) "
                f"{', '.join('{' + name + '}' for name in unknown)}; "
                f"allowed: {', '.join('{' + name + '}' for name in TEMPLATE_FIELDS)}"
            )
        if "count" not in fields:
            raise SyracError(
                f"--templates: {template!r} does not name the count; put {{count}} in it"
            )


def people_word(count):
    """'person' for one, 'people' otherwise."""
    return "person" if count == 1 else "people"


def count_prompt(count, index, seed, templates, scenes, viewpoints):
    """The prompt of item ``index`` of ``count``: template in turn, scene and viewpoint by seed.

    Returns:
        ``{"prompt", "template", "scene", "viewpoint"}``.
    """
    rng = np.random.default_rng(seed)
    if count == 0:
        templates = EMPTY_TEMPLATES
    template = templates[index % len(templates)]
    scene = scenes[int(rng.integers(len(scenes)))] if scenes else ""
    viewpoint = viewpoints[int(rng.integers(len(viewpoints)))] if viewpoints else ""
    prompt = template.format(
        count=count, people=people_word(count), scene=scene, viewpoint=viewpoint
    )
    # An empty scene or viewpoint leaves doubled spaces or a dangling comma: tidy them.
    prompt = " ".join(prompt.split()).replace(" ,", ",").strip(" ,")
    return {"prompt": prompt, "template": template, "scene": scene, "viewpoint": viewpoint}


def default_words():
    """Every word of the default prompts, for the tiny test tokenizer's vocabulary."""
    texts = [
        REMOVAL_PROMPT, REMOVAL_NEGATIVE_PROMPT, COUNT_NEGATIVE_PROMPT,
        *COUNT_TEMPLATES, *EMPTY_TEMPLATES, *COUNT_SCENES, *COUNT_VIEWPOINTS, "person people",
    ]
    words = set()
    for text in texts:
        for word in text.lower().replace("{", " ").replace("}", " ").split():
            word = word.strip(string.punctuation)
            if word.isalpha():
                words.add(word)
    return sorted(words)
