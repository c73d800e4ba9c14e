"""Work items: one generated image each, a pure function of the job's arguments.

A job's item list, every item's output file, prompt and seed follow from the command line
alone, in a fixed order. That is what makes long jobs manageable:

- **seeds**: an item's seed is derived from the job seed and the item's id (a hash), so it does
  not depend on the order, the batch or the shard the item is generated in;
- **shards**: ``--shard i/n`` takes items ``k`` with ``k mod n == i``
  (:mod:`syrac.common.shards`); the ``n`` shards partition the job, and their outputs merge
  into the dataset an unsharded job makes;
- **resume**: an item is done when its image and its manifest record exist; a restarted job
  skips done items and never touches their files.
"""

import dataclasses
import hashlib

from syrac.common.errors import SyracError


@dataclasses.dataclass(frozen=True)
class WorkItem:
    """One image to generate.

    Attributes:
        item_id: unique within the job; also the stem of the output file.
        output: the output image's path relative to the data directory.
        seed: the seed of this image's starting noise.
        group: items with equal groups may share a batch (same mode and strength).
        details: what the job needs to make it, recorded in the manifest (prompt, strength,
            source image, count...).
    """

    item_id: str
    output: str
    seed: int
    group: tuple
    details: dict = dataclasses.field(default_factory=dict, compare=False)


def item_seed(job_seed, item_id):
    """A 31-bit seed from the job seed and the item id, stable across runs and machines."""
    digest = hashlib.sha256(f"{int(job_seed)}/{item_id}".encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def batches(items, batch_size):
    """Split items into batches of at most ``batch_size``, never mixing groups.

    Groups keep the order of their first item; items keep their order inside a group.
    """
    if batch_size < 1:
        raise SyracError(f"--batch-size must be at least 1. Received: {batch_size}")
    groups = {}
    for item in items:
        groups.setdefault(item.group, []).append(item)
    for members in groups.values():
        for start in range(0, len(members), batch_size):
            yield members[start:start + batch_size]
