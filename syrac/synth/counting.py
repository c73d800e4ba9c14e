"""Noisy counts by prompting: the items of a ``noisy-counts`` job and how one is made.

For each asked count N, K images are generated from prompts that name N (templates in turn,
scene and viewpoint drawn per item, see :mod:`syrac.synth.prompts`; N = 0 asks for an empty
scene) and labelled N, whatever the model actually drew: the label is strong but noisy (docs/DESIGN.md §1). Images keep the model's
size; the count step resizes them to its input shape anyway.
"""

from syrac.common.errors import SyracError
from syrac.synth.image_io import output_extension
from syrac.synth.items import WorkItem, item_seed
from syrac.synth.prompts import EMPTY_NEGATIVE_PROMPT, count_prompt
from syrac.synth.sizing import to_uint8

METHOD = "text_to_image"


def check_counts(counts, per_count):
    if not counts:
        raise SyracError("--counts needs at least one count")
    bad = [count for count in counts if count < 0]
    if bad:
        raise SyracError(f"--counts must be whole numbers >= 0 (0: scenes without people). "
                         f"Received: {bad[0]}")
    if len(set(counts)) != len(counts):
        raise SyracError(f"--counts lists a count twice. Received: {counts}")
    if per_count < 1:
        raise SyracError(f"--per-count must be at least 1. Received: {per_count}")


def item_id(count, index):
    return f"count-{count}/{index:05d}"


def plan(dataset, counts, per_count, seed, templates, scenes, viewpoints, negative_prompt,
         file_format="auto"):
    """The job's items, in order: by count, then index."""
    check_counts(counts, per_count)
    items = []
    for count in counts:
        for index in range(per_count):
            identifier = item_id(count, index)
            # The prompt's draws use their own seed, distinct from the noise seed.
            chosen = count_prompt(
                count, index, item_seed(seed, identifier + "#prompt"), templates, scenes,
                viewpoints,
            )
            items.append(WorkItem(
                item_id=identifier,
                output=f"{dataset}/generated/{identifier}{output_extension(file_format)}",
                seed=item_seed(seed, identifier),
                group=(METHOD,),
                details={"method": METHOD, "count": count,
                         "negative_prompt": negative_prompt if count else EMPTY_NEGATIVE_PROMPT,
                         **chosen},
            ))
    return items


def batch_maker(model, guidance):
    """Return ``make_batch(items)`` for :func:`syrac.synth.generation.generate`."""

    def make_batch(items):
        outputs = model.text_to_image(
            prompts=[item.details["prompt"] for item in items],
            negative_prompts=[item.details["negative_prompt"] for item in items],
            seeds=[item.seed for item in items],
            guidance=guidance,
        )
        return [(to_uint8(output), {"output_size": list(output.shape[:2])}) for output in outputs]

    return make_batch
