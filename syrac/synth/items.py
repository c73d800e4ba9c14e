"""Work items: one generated image each, a pure function of the job's arguments.

A job's item list, every item's output file, prompt and seed follow from the command line
alone, in a fixed order. That is what makes long jobs manageable:

- **seeds**: an item's seed is derived from the job seed and the item's id (a hash), so it does
  not depend on the order, the batch or the shard the item is generated in;
- **shards**: ``--shard i/n`` takes items ``k`` with ``k mod n == i``; the ``n`` shards
  partition the job, and their outputs merge into the dataset an unsharded job makes;
- **resume**: an item is done when its image and its manifest record exist; a restarted job
  skips done items and never touches their files.
"""

import dataclasses
import hashlib
import os

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


def parse_shard(text, environ=None):
    """``"i/n"`` -> (i, n), with 0 <= i < n; ``"auto"`` or ``"auto/n"``: from the scheduler.

    ``auto`` reads a SLURM job array: ``SLURM_ARRAY_TASK_ID`` and ``SLURM_ARRAY_TASK_COUNT``,
    the index counted from ``SLURM_ARRAY_TASK_MIN`` in steps of ``SLURM_ARRAY_TASK_STEP``
    (``--array=1-8`` and ``--array=0-14:2`` both give shards 0..7). ``auto/n`` takes the index
    from a Kubernetes Indexed Job's ``JOB_COMPLETION_INDEX`` (or a SLURM array's) and the count
    from the option.
    """
    text = str(text)
    if text == "auto" or text.startswith("auto/"):
        index, count = _shard_from_scheduler(text, os.environ if environ is None else environ)
        if not 0 <= index < count:
            raise SyracError(f"--shard {text}: the scheduler gives shard {index} of {count}; "
                             "needs 0 <= index < count")
        return index, count
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise SyracError(
            f"--shard must be i/n (this machine's share i of n, counted from 0), auto (a SLURM "
            f"job array) or auto/n (a Kubernetes Indexed Job). Received: --shard {text}"
        ) from None
    if count < 1 or not 0 <= index < count:
        raise SyracError(f"--shard {text}: needs n >= 1 and 0 <= i < n")
    return index, count


def _whole(environ, name, text):
    value = environ.get(name)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise SyracError(f"--shard {text}: {name}={value!r} is not a whole number") from None


def _shard_from_scheduler(text, environ):
    """(index, count) from SLURM's array variables or Kubernetes' completion index."""
    given = text.partition("/")[2]
    if given and not given.isdigit():
        raise SyracError(f"--shard {text}: the count after auto/ must be a whole number")
    count = int(given) if given else None
    if "SLURM_ARRAY_TASK_ID" in environ:
        task = _whole(environ, "SLURM_ARRAY_TASK_ID", text)
        first = _whole(environ, "SLURM_ARRAY_TASK_MIN", text) if (
            "SLURM_ARRAY_TASK_MIN" in environ) else 0
        step = _whole(environ, "SLURM_ARRAY_TASK_STEP", text) if (
            "SLURM_ARRAY_TASK_STEP" in environ) else 1
        index = (task - first) // max(step, 1)
        if "SLURM_ARRAY_TASK_COUNT" in environ:
            tasks = _whole(environ, "SLURM_ARRAY_TASK_COUNT", text)
            if count is not None and count != tasks:
                raise SyracError(f"--shard {text}: the SLURM array has {tasks} tasks, not {count}")
            count = tasks
        if count is None:
            raise SyracError(f"--shard {text}: SLURM_ARRAY_TASK_COUNT is not set; give the "
                             "count as --shard auto/N")
        return index, count
    if "JOB_COMPLETION_INDEX" in environ:
        if count is None:
            raise SyracError(f"--shard {text}: a Kubernetes Indexed Job does not tell the "
                             "number of shards; give it as --shard auto/N (the Job's completions)")
        return _whole(environ, "JOB_COMPLETION_INDEX", text), count
    raise SyracError(
        f"--shard {text}: no scheduler found: neither SLURM_ARRAY_TASK_ID (a SLURM job array) "
        "nor JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) is set; give --shard i/n"
    )


def shard_items(items, index, count):
    """The items of shard ``index`` of ``count``: item ``k`` goes to shard ``k mod count``."""
    return [item for position, item in enumerate(items) if position % count == index]


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
