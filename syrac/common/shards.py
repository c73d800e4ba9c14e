"""Shares of a long job for a cluster: ``--shard i/n``, or the scheduler's own index.

``synth`` shards its images and ``table`` its units of work (a pre-training with the probes and
cells that depend on it) the same way: unit ``k`` of a fixed, ordered list goes to shard
``k mod n``, so the ``n`` shards partition the work and their outputs, written to one place,
are what one unsharded run writes. ``--shard auto`` reads a SLURM job array, ``--shard auto/n``
a Kubernetes Indexed Job.
"""

import os

from syrac.common.errors import SyracError


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
