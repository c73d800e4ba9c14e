"""The generation loop: batches in, images and manifest records out, resumable at any point.

For each batch the job's ``make_batch`` turns work items into uint8 images (plus a few facts to
record); each image is written atomically and only then is its manifest record appended. A kill
therefore loses at most the batch in flight, and a restart skips every item whose image and
record exist (:func:`pending`), without rewriting any of them. Before it starts, a restart removes
its items' temporary files (:func:`remove_leftovers`) and repairs its manifest
(:func:`syrac.synth.manifest.repair_manifest`). An item's image depends only on its seed, so an
image made again after a kill is the image the unbroken run made.

Batches have a fixed size: the last, smaller batch of a group is padded by repeating its last
item (the extra outputs are dropped), so the compiled generation functions see one shape and
are traced once per mode rather than once more at every group's end.
"""

import os
import time

from syrac.common.files import remove_stale_temporaries, timestamp
from syrac.common.progress import progress_bar
from syrac.synth.image_io import write_image
from syrac.synth.items import batches
from syrac.synth.manifest import append_record, finished, read_records

RATE = "images/s"


def remove_leftovers(items, data_dir, folder):
    """Delete the temporary files a killed run left for ``items`` (their images and the source
    copies they use) and for the job's records; a live process's files are not touched."""
    for item in items:
        for relative in (item.output, item.details.get("source_image")):
            if relative:
                remove_stale_temporaries(os.path.join(data_dir, relative))
    for name in os.listdir(folder) if os.path.isdir(folder) else ():
        if name.endswith(".tmp"):  # job.json.PID.tmp, annotations.json.PID.tmp, manifests'
            remove_stale_temporaries(os.path.join(folder, name.rsplit(".", 2)[0]))


def pending(items, data_dir, folder):
    """The items not yet done: no manifest record, or the recorded image file is gone."""
    done = finished(read_records(folder), data_dir)
    return [item for item in items if item.item_id not in done]


def generate(items, make_batch, data_dir, manifest, batch_size, quality=95, record=None,
             show_progress=True):
    """Generate ``items`` in batches, writing images and manifest records as they come.

    Args:
        items: the :class:`~syrac.synth.items.WorkItem` list to make (already filtered).
        make_batch: ``make_batch(items) -> [(uint8 image, extra record fields), ...]``.
        data_dir: the folder item outputs are relative to.
        manifest: the JSON-lines file that receives one record per image.
        batch_size: images per call to the model.
        quality: JPEG quality (an item's output extension chooses JPEG or PNG).
        record: fields recorded with every image (preset, steps, guidance, shard...).
        show_progress: draw a progress bar with the generation rate.

    Returns:
        ``(number of images made, seconds spent)``.
    """
    bar = progress_bar(len(items), "image", enabled=show_progress)
    bar.stateful_metrics.add(RATE)  # show images/s since the start as is, not averaged again
    start, made = time.perf_counter(), 0
    for batch in batches(items, batch_size):
        padded = batch + [batch[-1]] * (batch_size - len(batch))
        results = make_batch(padded)[: len(batch)]
        for item, (image, extra) in zip(batch, results):
            write_image(os.path.join(data_dir, item.output), image, quality)
            append_record(manifest, {
                **(record or {}), **item.details, **extra,
                "item": item.item_id, "image": item.output, "seed": item.seed,
                "created": timestamp(),
            })
        made += len(batch)
        bar.update(made, values=[(RATE, made / max(time.perf_counter() - start, 1e-9))])
    return made, time.perf_counter() - start
