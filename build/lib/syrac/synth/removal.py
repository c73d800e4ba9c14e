"""Ranking pairs by removing people: the items of a ``remove-people`` job and how one is made.

Every real image gives ``len(strengths) * variants`` copies: image-to-image towards a
people-free prompt, away from a negative prompt naming people, at each strength (the share of
the diffusion schedule that is re-run: more strength, more change) and with ``variants``
different seeds. With ``--masks`` the copies are inpainted instead: only the white part of the
mask is regenerated, and everything else is the real image's own pixels.

The pair is (source = real image, target = its copy): the real image holds more people.
A grayscale source gets a grayscale copy, so colour cannot tell the two sides apart.
"""

import numpy as np

from syrac.synth.image_io import (
    checked_mask,
    output_extension,
    place_source,
    read_image,
    source_location,
)
from syrac.synth.items import WorkItem, item_seed
from syrac.synth.sizing import composite, is_grayscale, resize, to_grayscale, to_uint8

METHODS = {False: "img2img", True: "inpaint"}


def item_id(key, strength, variant):
    return f"{key}.s{strength:g}.v{variant}"


def plan(data_dir, dataset, sources, masks, strengths, variants, seed, prompt, negative_prompt,
         file_format="auto"):
    """The job's items, in order: by source image, then strength, then variant.

    Args:
        sources: ``{key: path}`` of the real images.
        masks: ``{key: mask path}``, or ``None`` for image-to-image.
        file_format: ``auto`` (the source's: JPEG for JPEG, PNG otherwise), ``jpg`` or ``png``.
    """
    method = METHODS[masks is not None]
    items = []
    for key, path in sources.items():
        location = source_location(data_dir, dataset, key, path)
        extension = output_extension(file_format, path)
        for strength in strengths:
            for variant in range(variants):
                identifier = item_id(key, strength, variant)
                details = {
                    "method": method,
                    "strength": float(strength),
                    "variant": variant,
                    "source_key": key,
                    "source_image": location,
                    "source_file": path,
                    "prompt": prompt,
                    "negative_prompt": negative_prompt,
                }
                if masks is not None:
                    details["mask_file"] = masks[key]
                items.append(WorkItem(
                    item_id=identifier,
                    output=f"{dataset}/generated/{identifier}{extension}",
                    seed=item_seed(seed, identifier),
                    group=(method, float(strength)),
                    details=details,
                ))
    return items


def check_masks(items, image_size):
    """Read every mask these items need once, so a bad mask stops the job before it starts."""
    paths = {item.details["mask_file"] for item in items if "mask_file" in item.details}
    for path in sorted(paths):
        checked_mask(path, image_size)


def batch_maker(model, data_dir, guidance):
    """Return ``make_batch(items)`` for :func:`syrac.synth.generation.generate`."""

    def make_batch(items):
        details = [item.details for item in items]
        sources = [read_image(d["source_file"]) for d in details]
        images = np.stack([resize(source, model.image_size) for source in sources])
        arguments = dict(
            prompts=[d["prompt"] for d in details],
            negative_prompts=[d["negative_prompt"] for d in details],
            seeds=[item.seed for item in items],
            strength=details[0]["strength"],
            guidance=guidance,
        )
        inpainting = details[0]["method"] == METHODS[True]
        if inpainting:
            masks = np.stack([checked_mask(d["mask_file"], model.image_size) for d in details])
            outputs = model.inpaint(images, masks, **arguments)
        else:
            outputs = model.image_to_image(images, **arguments)
        results = []
        for detail, source, output in zip(details, sources, outputs):
            size = source.shape[:2]
            target = resize(output, size)
            if inpainting:
                target = composite(source, target, checked_mask(detail["mask_file"], size))
            grayscale = is_grayscale(source)
            if grayscale:
                target = to_grayscale(target)
            place_source(data_dir, detail["source_image"], detail["source_file"])
            results.append((to_uint8(target), {"source_size": list(size), "grayscale": grayscale}))
        return results

    return make_batch
