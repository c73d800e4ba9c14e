"""``python -m syrac synth``: make the two synthetic datasets with Stable Diffusion 3.

Sub-commands:

- ``remove-people --images SRC``: a ranking set ``DATA/NAME`` of (real image, copy with people
  removed) pairs;
- ``noisy-counts --counts N ... --per-count K``: a count set of prompted images labelled N;
- ``merge``: write ``annotations.json`` from the manifests of all shards of a job.

A job is resumable (run the same command again: finished images are kept and skipped) and
shardable (``--shard i/n`` on n machines; the last shard to finish into a shared folder writes
``annotations.json``, otherwise copy the folders together and run ``merge``).
"""

import os

from syrac.common.errors import SyracError
from syrac.common.numbers import integer, number, seed
from syrac.common.output_folders import CommandParser, OutputFolder
from syrac.synth import counting, job, prompts, removal
from syrac.synth.generation import generate, pending, remove_leftovers
from syrac.synth.image_io import FORMATS, find_images, find_masks
from syrac.common.shards import parse_shard, shard_items
from syrac.synth.manifest import manifest_path, repair_manifest
from syrac.synth.presets import DEFAULT_PRESET, DTYPES, check_preset, load_model
from syrac.synth.sizing import parse_size

DEFAULT_STRENGTHS = (0.6, 0.75, 0.9)
DEFAULT_COUNTS = (1, 5, 10, 20, 50, 100)


def _data_options(parser, creates=True):
    parser.add_argument("--data_dir", "--data-dir", dest="data_dir", required=True,
                        action=OutputFolder if creates else "store",
                        help="the data folder; the dataset goes to DATA_DIR/OUT"
                             + (" (created if missing)" if creates else ""))
    parser.add_argument("--out", required=True, help="the dataset's folder name inside --data_dir")


def _generation_options(parser):
    _data_options(parser)
    parser.add_argument("--preset", default=DEFAULT_PRESET,
                        help="a local keras-hub Stable Diffusion 3 preset folder, or a hub handle "
                             f"(default: {DEFAULT_PRESET}, needs network at first use)")
    parser.add_argument("--size", default="1024",
                        help="model image size, S or HxW, multiples of 16 (default: 1024)")
    parser.add_argument("--steps", type=integer, default=28,
                        help="diffusion steps of the schedule (default: 28)")
    parser.add_argument("--guidance", type=number, default=7.0,
                        help="classifier-free guidance scale; <= 1 turns it off (default: 7.0)")
    parser.add_argument("--seed", type=seed, default=0,
                        help="job seed; every image's seed derives from it and the image's id")
    parser.add_argument("--batch_size", "--batch-size", type=integer, default=2,
                        help="images per model call (default: 2)")
    parser.add_argument("--shard", default="0/1", metavar="I/N",
                        help="make share I of N of the job, counted from 0 (default: 0/1); "
                             "auto: from a SLURM job array; auto/N: from a Kubernetes Indexed "
                             "Job's JOB_COMPLETION_INDEX, N shards")
    parser.add_argument("--dtype", choices=DTYPES, default="auto",
                        help="model dtype; auto = float16 on a GPU, float32 on a CPU")
    parser.add_argument("--jit_compile", "--jit-compile", action="store_true",
                        help="XLA-compile generation (long first call; faster on a GPU)")
    parser.add_argument("--format", choices=FORMATS, default="auto",
                        help="file format of generated images; auto = that of the source image "
                             "(JPEG stays JPEG, others become PNG), JPEG for noisy counts")
    parser.add_argument("--quality", type=integer, default=95, help="JPEG quality (default: 95)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def parser(prog):
    top = CommandParser(
        prog=prog,
        description="Make SYRAC's synthetic datasets with a Stable Diffusion 3 keras-hub preset.",
    )
    commands = top.add_subparsers(dest="subcommand", required=True, metavar="SUBCOMMAND")

    remove = commands.add_parser(
        "remove-people", help="ranking set: real images and copies with people removed",
        description="Regenerate each real image with its people removed (image-to-image, or "
                    "inpainting with --masks) and write a ranking set of (real, copy) pairs.",
    )
    remove.add_argument("--images", required=True,
                        help="folder of real crowd images (sub-folders included, any format)")
    remove.add_argument("--masks", default=None,
                        help="folder of masks with the images' names, white = people to remove; "
                             "switches to inpainting")
    remove.add_argument("--strengths", type=number, nargs="+", default=list(DEFAULT_STRENGTHS),
                        help="noise strengths in (0, 1], one copy each "
                             f"(default: {' '.join(map(str, DEFAULT_STRENGTHS))})")
    remove.add_argument("--variants", type=integer, default=1,
                        help="copies per image and strength, each with its own seed (default: 1)")
    remove.add_argument("--prompt", default=prompts.REMOVAL_PROMPT, help="people-free prompt")
    remove.add_argument("--negative_prompt", "--negative-prompt", default=prompts.REMOVAL_NEGATIVE_PROMPT,
                        help="negative prompt naming people")
    remove.add_argument("--val_fraction", "--val-fraction", type=number, default=0.1,
                        help="share of the real images whose pairs form the val split "
                             "(default: 0.1; split by image, seeded by --seed)")
    _generation_options(remove)

    counts = commands.add_parser(
        "noisy-counts", help="count set: prompted images labelled with the asked count",
        description="Generate K images for each count N from prompts naming N, labelled N.",
    )
    counts.add_argument("--counts", type=integer, nargs="+", default=list(DEFAULT_COUNTS),
                        help=f"counts to ask for (default: {' '.join(map(str, DEFAULT_COUNTS))}); "
                             "0 asks for scenes without people, with prompts of their own")
    counts.add_argument("--per_count", "--per-count", type=integer, default=50,
                        help="images per count (default: 50)")
    counts.add_argument("--templates", nargs="+", default=list(prompts.COUNT_TEMPLATES),
                        help="prompt templates with {count} and optionally {people}, {scene}, "
                             "{viewpoint}; used in turn")
    counts.add_argument("--scenes", nargs="+", default=list(prompts.COUNT_SCENES),
                        help="scenes for {scene}, drawn per image")
    counts.add_argument("--viewpoints", nargs="+", default=list(prompts.COUNT_VIEWPOINTS),
                        help="viewpoints for {viewpoint}, drawn per image")
    counts.add_argument("--negative_prompt", "--negative-prompt", default=prompts.COUNT_NEGATIVE_PROMPT,
                        help="negative prompt")
    _generation_options(counts)

    merge = commands.add_parser(
        "merge", help="write annotations.json from the manifests of all shards",
        description="Gather the manifests of a job's shards (their folders copied into one) and "
                    "write DATA_DIR/OUT/annotations.json.",
    )
    _data_options(merge, creates=False)
    merge.add_argument("--partial", action="store_true",
                       help="write it even though some images are not made yet")
    return top


def _dataset_folder(args):
    name = args.out
    if not name or name in (".", "..") or "/" in name or os.sep in name:
        raise SyracError(f"--out must be a plain folder name inside --data_dir. Received: {name!r}")
    if not os.path.isdir(args.data_dir):
        raise SyracError(f"--data_dir {args.data_dir}: no such folder")
    return os.path.join(args.data_dir, name)


def _report(summary, data_dir, dataset):
    if summary["written"]:
        sizes = ", ".join(f"{count} {name}" for name, count in summary["sizes"].items())
        print(f"{summary['path']}: written ({sizes})")
    else:
        done = job.missing_share(summary["done"], summary["total"])
        print(
            f"{os.path.join(data_dir, dataset)}: {done}; annotations.json is written when every "
            "shard has finished here, or by "
            f"`python -m syrac synth merge --data_dir {data_dir} --out {dataset}` once the "
            "shards' folders are copied together"
        )


def _run_job(args, command, settings, items, extra, preflight, batch_maker):
    """Shared by both jobs: record the job, make this shard's missing images, write annotations."""
    folder = _dataset_folder(args)
    shard_index, shard_count = parse_shard(args.shard)
    document = job.job_document(command, settings, [item.item_id for item in items], extra)
    job.check_existing(folder, document)
    mine = shard_items(items, shard_index, shard_count)
    remove_leftovers(mine, args.data_dir, folder)
    repair_manifest(manifest_path(folder, shard_index, shard_count), args.data_dir)
    todo = pending(mine, args.data_dir, folder)
    share = (
        f"shard {shard_index}/{shard_count} holds {len(mine)} of the job's {len(items)} images"
        if shard_count > 1 else f"{len(items)} images"
    )
    print(f"{folder}: {share}; {len(mine) - len(todo)} done, {len(todo)} to make")
    if todo:
        size = tuple(settings["size"])
        preflight(todo, size)
        model = load_model(args.preset, size, args.steps, args.dtype, args.jit_compile)
        # Recorded only now: a job that could not even load its model leaves no trace.
        job.start_job(folder, document)
        made, seconds = generate(
            todo, batch_maker(model), args.data_dir,
            manifest_path(folder, shard_index, shard_count), args.batch_size,
            quality=args.quality,
            record={**model.description, "steps": args.steps, "guidance": args.guidance,
                    "model_size": list(size), "shard": f"{shard_index}/{shard_count}"},
            show_progress=not args.quiet,
        )
        print(f"made {made} images in {seconds:.1f} s ({made / max(seconds, 1e-9):.3g} images/s)")
    job.start_job(folder, document)  # also when this shard had nothing to make
    _report(job.finish(args.data_dir, args.out), args.data_dir, args.out)


def _common_settings(args):
    if args.steps < 1:
        raise SyracError(f"--steps must be at least 1. Received: {args.steps}")
    if args.batch_size < 1:
        raise SyracError(f"--batch-size must be at least 1. Received: {args.batch_size}")
    if not 1 <= args.quality <= 100:
        raise SyracError(f"--quality must be in 1..100. Received: {args.quality}")
    parse_shard(args.shard)
    return {
        "steps": args.steps, "guidance": args.guidance, "seed": args.seed,
        "size": list(parse_size(args.size)), "format": args.format,
        "quality": args.quality,
    }


def remove_people(args):
    settings = _common_settings(args)
    bad = [s for s in args.strengths if not 0.0 < s <= 1.0]
    if bad:
        raise SyracError(f"--strengths must be in (0, 1]. Received: {bad[0]}")
    if len({f"{s:g}" for s in args.strengths}) != len(args.strengths):
        raise SyracError(f"--strengths lists a strength twice. Received: {args.strengths}")
    if args.variants < 1:
        raise SyracError(f"--variants must be at least 1. Received: {args.variants}")
    sources = find_images(args.images, exclude=_dataset_folder(args))
    masks = find_masks(args.masks, list(sources)) if args.masks else None
    validation = job.choose_validation(list(sources), args.val_fraction, args.seed)
    settings.update({
        "sources": list(sources), "inpaint": masks is not None,
        "strengths": [float(s) for s in args.strengths], "variants": args.variants,
        "prompt": args.prompt, "negative_prompt": args.negative_prompt,
        "val_fraction": args.val_fraction,
    })
    items = removal.plan(
        args.data_dir, args.out, sources, masks, settings["strengths"], args.variants,
        args.seed, args.prompt, args.negative_prompt, args.format,
    )
    check_preset(args.preset)  # after the options and sources, which are quicker to check
    split = {"seed": args.seed, "val_fraction": args.val_fraction, "val": validation}
    _run_job(
        args, job.RANKING_COMMAND, settings, items, {"split": split},
        preflight=removal.check_masks,
        batch_maker=lambda model: removal.batch_maker(model, args.data_dir, args.guidance),
    )


def noisy_counts(args):
    settings = _common_settings(args)
    prompts.check_templates(args.templates)
    settings.update({
        "counts": args.counts, "per_count": args.per_count, "templates": args.templates,
        "scenes": args.scenes, "viewpoints": args.viewpoints,
        "negative_prompt": args.negative_prompt,
    })
    items = counting.plan(
        args.out, args.counts, args.per_count, args.seed, args.templates, args.scenes,
        args.viewpoints, args.negative_prompt, args.format,
    )
    _dataset_folder(args)
    check_preset(args.preset)  # after the options, which are quicker to check
    _run_job(
        args, job.COUNT_COMMAND, settings, items, {},
        preflight=lambda todo, size: None,
        batch_maker=lambda model: counting.batch_maker(model, args.guidance),
    )


def merge(args):
    _dataset_folder(args)
    summary = job.finish(args.data_dir, args.out, partial=args.partial)
    if not summary["written"]:
        raise SyracError(
            f"{os.path.join(args.data_dir, args.out)}: "
            f"{job.missing_share(summary['done'], summary['total'])}; copy the missing shards' "
            "folders here (or run them), or pass --partial to write what exists"
        )
    _report(summary, args.data_dir, args.out)


def run(args):
    {"remove-people": remove_people, "noisy-counts": noisy_counts, "merge": merge}[
        args.subcommand
    ](args)
