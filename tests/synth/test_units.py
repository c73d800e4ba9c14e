"""The synthesis job's parts that need no diffusion model: items, seeds, shards, prompts, sizes,
masks, manifests, job records, presets and their errors."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from syrac.common.errors import SyracError
from syrac.fixtures import crowd_image
from syrac.synth import counting, job, manifest, presets, prompts, removal, sizing
from syrac.synth.image_io import find_images, find_masks, source_location
from syrac.common.shards import parse_shard, shard_items
from syrac.synth.items import WorkItem, batches, item_seed


def write_png(path, image):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tf.io.write_file(str(path), tf.io.encode_png(image))


def count_items(**changes):
    arguments = dict(
        dataset="nc", counts=[1, 10], per_count=4, seed=3,
        templates=list(prompts.COUNT_TEMPLATES), scenes=list(prompts.COUNT_SCENES),
        viewpoints=list(prompts.COUNT_VIEWPOINTS), negative_prompt="blurry",
    )
    arguments.update(changes)
    return counting.plan(**arguments)


def test_item_seeds_depend_on_job_seed_and_id_only():
    assert item_seed(0, "a.s0.6.v0") == item_seed(0, "a.s0.6.v0")
    assert item_seed(0, "a.s0.6.v0") != item_seed(1, "a.s0.6.v0")
    assert item_seed(0, "a.s0.6.v0") != item_seed(0, "a.s0.6.v1")
    assert 0 <= item_seed(12345, "x") < 2**31
    # The same item gets the same seed and prompt in a job with more counts around it.
    small = {item.item_id: item for item in count_items(counts=[10])}
    large = {item.item_id: item for item in count_items(counts=[1, 10, 50], per_count=6)}
    for item_id, item in small.items():
        assert large[item_id].seed == item.seed
        assert large[item_id].details == item.details


def test_shards_partition_the_job():
    items = count_items(per_count=5)
    shards = [shard_items(items, index, 3) for index in range(3)]
    ids = [item.item_id for shard in shards for item in shard]
    assert sorted(ids) == sorted(item.item_id for item in items)
    assert len(set(ids)) == len(items)
    assert [item.item_id for item in shards[1]] == [items[k].item_id for k in (1, 4, 7)]
    assert shard_items(items, 0, 1) == items


def test_batches_never_mix_groups():
    items = [WorkItem(f"i{k}", f"o{k}", k, ("img2img", [0.6, 0.9][k % 2])) for k in range(7)]
    grouped = list(batches(items, 3))
    assert [[item.item_id for item in batch] for batch in grouped] == [
        ["i0", "i2", "i4"], ["i6"], ["i1", "i3", "i5"],
    ]


@pytest.mark.parametrize("text, expected", [("0/1", (0, 1)), ("2/3", (2, 3))])
def test_parse_shard(text, expected):
    assert parse_shard(text) == expected


@pytest.mark.parametrize("text", ["1", "3/3", "-1/2", "a/b", "0/0"])
def test_bad_shards_are_refused(text):
    with pytest.raises(SyracError, match="--shard"):
        parse_shard(text)


@pytest.mark.parametrize("text, expected", [("1024", (1024, 1024)), ("768x1024", (768, 1024)),
                                             ("32X48", (32, 48))])
def test_parse_size(text, expected):
    assert sizing.parse_size(text) == expected


@pytest.mark.parametrize("text, message", [
    ("1000", "multiples of 16"), ("32x40", "multiples of 16"), ("big", "S or HxW"),
    ("0", "S or HxW"), ("16x16x16", "S or HxW"),
])
def test_bad_sizes_are_refused(text, message):
    with pytest.raises(SyracError, match=message):
        sizing.parse_size(text)


def test_count_prompts_name_the_count_and_use_every_template():
    items = count_items(counts=[1, 20], per_count=6)
    for item in items:
        count = item.details["count"]
        assert str(count) in item.details["prompt"]
        assert ("person" if count == 1 else "people") in item.details["prompt"]
        assert item.details["scene"] in item.details["prompt"]
        assert item.details["negative_prompt"] == "blurry"
    used = [item.details["template"] for item in items if item.details["count"] == 20]
    assert used == list(prompts.COUNT_TEMPLATES) * 2
    assert len({item.details["prompt"] for item in items}) > 6  # scenes and views vary


def test_count_zero_asks_for_empty_scenes_with_prompts_of_their_own():
    items = count_items(counts=[0, 3], per_count=3)
    empty = [item for item in items if item.details["count"] == 0]
    assert [item.details["template"] for item in empty] == list(prompts.EMPTY_TEMPLATES)
    for item in empty:
        assert "0" not in item.details["prompt"] and item.details["scene"] in item.details["prompt"]
        assert item.details["negative_prompt"] == prompts.EMPTY_NEGATIVE_PROMPT
        assert "people" in item.details["negative_prompt"]  # guidance steers away from people
    assert all(item.details["negative_prompt"] == "blurry"
               for item in items if item.details["count"] == 3)


def test_prompt_without_scene_or_viewpoint_is_tidy():
    chosen = prompts.count_prompt(3, 0, 0, ["{count} {people} {scene}, {viewpoint}"], [], [])
    assert chosen["prompt"] == "3 people"


@pytest.mark.parametrize("template, message", [
    ("a crowd {scene}", "does not name the count"),
    ("{count} {persons}", r"unknown field\(s\) \{persons\}"),
    ("{count", "cannot read"),
])
def test_bad_templates_are_refused(template, message):
    with pytest.raises(SyracError, match=message):
        prompts.check_templates([template])


@pytest.mark.parametrize("counts, per_count, message", [
    ([-1, 5], 2, "whole numbers >= 0"), ([5, 5], 2, "twice"), ([5], 0, "--per-count"),
])
def test_bad_counts_are_refused(counts, per_count, message):
    with pytest.raises(SyracError, match=message):
        count_items(counts=counts, per_count=per_count)


def test_removal_items(tmp_path):
    rng = np.random.default_rng(0)
    sources = {"a": str(tmp_path / "src" / "a.jpg"), "sub/b": str(tmp_path / "data" / "b.png")}
    os.makedirs(tmp_path / "src")
    tf.io.write_file(sources["a"], tf.io.encode_jpeg(crowd_image(rng, 2)))
    write_png(sources["sub/b"], crowd_image(rng, 2))
    items = removal.plan(str(tmp_path / "data"), "rp", sources, None, [0.6, 0.9], 2, 0,
                         "empty", "people")
    assert [item.item_id for item in items[:4]] == ["a.s0.6.v0", "a.s0.6.v1", "a.s0.9.v0",
                                                    "a.s0.9.v1"]
    # The copy keeps its source's kind of file: JPEG stays JPEG, anything else becomes PNG.
    assert items[0].output == "rp/generated/a.s0.6.v0.jpg"
    assert items[4].output == "rp/generated/sub/b.s0.6.v0.png"
    assert removal.plan(str(tmp_path / "data"), "rp", sources, None, [0.6], 1, 0, "empty",
                        "people", file_format="png")[0].output == "rp/generated/a.s0.6.v0.png"
    assert items[0].group == ("img2img", 0.6)
    # A source outside DATA is copied into the dataset; one inside is referenced in place.
    assert items[0].details["source_image"] == "rp/real/a.jpg"
    assert items[4].details["source_image"] == "b.png"
    assert len({item.seed for item in items}) == len(items)


def test_source_location_follows_symbolic_links(tmp_path):
    (tmp_path / "data" / "real").mkdir(parents=True)
    (tmp_path / "data" / "real" / "x.jpg").write_bytes(b"")
    os.symlink(tmp_path / "data" / "real", tmp_path / "link")
    assert source_location(str(tmp_path / "data"), "rp", "x", str(tmp_path / "link" / "x.jpg")) \
        == "real/x.jpg"


def test_find_images_reads_any_format_and_names_keys(tmp_path):
    rng = np.random.default_rng(0)
    write_png(tmp_path / "src" / "one.png", crowd_image(rng, 2))
    write_png(tmp_path / "src" / "deep" / "two.weird", crowd_image(rng, 2))  # PNG by content
    (tmp_path / "src" / "notes.txt").write_text("not an image")
    found = find_images(str(tmp_path / "src"))
    assert list(found) == ["deep/two", "one"]
    write_png(tmp_path / "src" / "one.jpg", crowd_image(rng, 2))
    with pytest.raises(SyracError, match="differ only by extension"):
        find_images(str(tmp_path / "src"))
    with pytest.raises(SyracError, match="no such folder"):
        find_images(str(tmp_path / "nowhere"))
    # The dataset being written, inside the sources' folder, is never read as sources.
    os.remove(tmp_path / "src" / "one.jpg")
    write_png(tmp_path / "src" / "out" / "generated" / "one.s0.6.v0.png", crowd_image(rng, 1))
    assert list(find_images(str(tmp_path / "src"), exclude=str(tmp_path / "src" / "out"))) == [
        "deep/two", "one",
    ]
    with pytest.raises(SyracError, match=r"--masks .*1 source image\(s\) have no mask.*: one"):
        write_png(tmp_path / "masks" / "deep" / "two.png", np.zeros((4, 4, 1), np.uint8))
        find_masks(str(tmp_path / "masks"), ["deep/two", "one"])


def test_mask_resizing_keeps_small_people():
    mask = np.zeros((64, 64), np.float32)
    mask[10, 20] = 1.0  # one pixel
    small = sizing.resize_mask(mask, (8, 8))
    assert small.sum() == 1 and small[1, 2] == 1
    assert set(np.unique(sizing.resize_mask(mask, (100, 90)))) == {0.0, 1.0}


def test_composite_and_grayscale():
    source = np.full((4, 4, 3), 0.25, np.float32)
    generated = np.full((4, 4, 3), 0.75, np.float32)
    mask = np.zeros((4, 4), np.float32)
    mask[:2] = 1
    result = sizing.composite(source, generated, mask)
    assert np.all(result[:2] == 0.75) and np.all(result[2:] == 0.25)
    gray = sizing.to_grayscale(np.random.default_rng(0).uniform(size=(3, 3, 3)))
    assert sizing.is_grayscale(gray) and not sizing.is_grayscale(generated * [1, 0.5, 1])


def test_manifest_survives_a_line_cut_short(tmp_path):
    path = manifest.manifest_path(str(tmp_path), 0, 2)
    (tmp_path / "done.jpg").write_bytes(b"x")
    manifest.append_record(path, {"item": "a", "image": "done.jpg", "seed": 1})
    with open(path, "a", encoding="utf-8") as handle:
        handle.write('{"item": "b", "ima')  # killed mid-line
    manifest.append_record(path, {"item": "c", "image": "gone.jpg", "seed": 2})
    manifest.append_record(manifest.manifest_path(str(tmp_path), 1, 2),
                           {"item": "a", "image": "done.jpg", "seed": 9})
    records = manifest.read_records(str(tmp_path))
    assert sorted(records) == ["a", "c"]
    assert records["a"]["seed"] == 9  # the last record wins
    assert manifest.finished(records, str(tmp_path)) == {"a"}  # c's image is missing
    assert len(open(path, encoding="utf-8").read().splitlines()) == 3


def test_validation_split_is_seeded_and_by_image():
    keys = [f"img{k}" for k in range(20)]
    first = job.choose_validation(keys, 0.25, seed=1)
    assert first == job.choose_validation(list(reversed(keys)), 0.25, seed=1)
    assert len(first) == 5 and set(first) <= set(keys)
    assert first != job.choose_validation(keys, 0.25, seed=2)
    assert len(job.choose_validation(keys[:2], 0.01, seed=0)) == 1
    with pytest.raises(SyracError, match="at least 2 source images"):
        job.choose_validation(keys[:1], 0.1, seed=0)
    with pytest.raises(SyracError, match="--val-fraction"):
        job.choose_validation(keys, 1.0, seed=0)


def test_a_job_with_other_settings_is_refused(tmp_path):
    folder = str(tmp_path / "nc")
    document = job.job_document("noisy-counts", {"steps": 28, "counts": [1, 5]}, ["a", "b"])
    assert not job.check_existing(folder, document)
    job.start_job(folder, document)
    job.start_job(folder, document)  # the same job again: fine
    assert job.check_existing(folder, document)
    changed = job.job_document("noisy-counts", {"steps": 30, "counts": [1, 5]}, ["a", "b"])
    with pytest.raises(SyracError, match=r"job\.json: this dataset was started with steps=28 "
                                         r"and this command gives steps=30"):
        job.check_existing(folder, changed)
    (tmp_path / "real_benchmark").mkdir()
    (tmp_path / "real_benchmark" / "annotations.json").write_text('{"test": []}')
    with pytest.raises(SyracError, match="holds a dataset that this command did not make"):
        job.check_existing(str(tmp_path / "real_benchmark"), document)
    other = job.job_document("remove-people", {"steps": 28}, ["a"])
    with pytest.raises(SyracError, match="holds a 'noisy-counts' job"):
        job.start_job(folder, other)
    assert sorted(os.listdir(folder)) == ["job.json"]  # no temporary files left behind


def test_preset_folder_checks(tmp_path):
    with pytest.raises(SyracError, match="no such folder"):
        presets.check_preset(str(tmp_path / "missing"))
    with pytest.raises(SyracError, match=r"not a keras-hub preset folder \(no config\.json\)"):
        presets.check_preset(str(tmp_path))
    (tmp_path / "config.json").write_text(json.dumps({"registered_name": "keras_hub>BertBackbone"}))
    with pytest.raises(SyracError, match="holds a BertBackbone, not a Stable Diffusion 3"):
        presets.check_preset(str(tmp_path))
    (tmp_path / "config.json").write_text(
        json.dumps({"registered_name": "keras_hub>StableDiffusion3Backbone",
                    "config": {"mmdit_position_size": 192, "mmdit_patch_size": 2}}))
    with pytest.raises(SyracError, match="no preprocessor.json"):
        presets.check_preset(str(tmp_path))
    (tmp_path / "preprocessor.json").write_text("{}")
    recorded, config = presets.check_preset(str(tmp_path))
    assert recorded == str(tmp_path) and presets.largest_side(config["config"]) == 3072
    with pytest.raises(SyracError, match="larger than this model's largest image side"):
        presets.load_model(str(tmp_path), (3088, 1024), num_steps=2)


def test_unknown_preset_name_is_refused():
    with pytest.raises(SyracError, match="neither a folder nor a Stable Diffusion 3 preset name"
                                         r" \(built-in: .*stable_diffusion_3_medium"):
        presets.check_preset("stable_diffusion_9")
    assert presets.check_preset("hf://someone/sd3") == ("hf://someone/sd3", None)


def test_offline_download_says_what_to_fetch_and_where(monkeypatch):
    import keras_hub

    def offline(*args, **kwargs):
        # kagglehub raises requests' ConnectionError, an OSError like this one.
        raise ConnectionError("Failed to resolve 'www.kaggle.com'")

    monkeypatch.setattr(keras_hub.models.StableDiffusion3Backbone, "from_preset", offline)
    with pytest.raises(SyracError) as caught:
        presets.load_model("stable_diffusion_3_medium", (1024, 1024), num_steps=28)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("--preset stable_diffusion_3_medium: cannot download it "
                              "(ConnectionError: Failed to resolve")
    for part in ("Hugging Face repository keras/stable_diffusion_3_medium",
                 "Kaggle model keras/stablediffusion3/keras/stable_diffusion_3_medium",
                 "Stability AI Community License", "--preset /path/to/that/folder"):
        assert part in message


def test_dtype_auto_is_float32_without_a_gpu():
    assert presets.resolve_dtype("auto") == (
        "float16" if tf.config.list_physical_devices("GPU") else "float32"
    )
    assert presets.resolve_dtype("bfloat16") == "bfloat16"


def test_a_manifest_is_repaired_to_one_whole_record_per_existing_image(tmp_path):
    data_dir, folder = tmp_path, tmp_path / "set"
    (folder / "images").mkdir(parents=True)
    for name in ("a", "b"):
        (folder / "images" / f"{name}.jpg").write_bytes(b"jpeg")
    path = manifest.manifest_path(str(folder), 0, 1)
    lines = [json.dumps({"item": "a", "image": "set/images/a.jpg", "seed": 1}),
             json.dumps({"item": "c", "image": "set/images/c.jpg", "seed": 3}),  # image gone
             json.dumps({"item": "a", "image": "set/images/a.jpg", "seed": 2}),  # made again
             json.dumps({"item": "b", "image": "set/images/b.jpg", "seed": 4})[:20]]  # cut short
    with open(path, "w") as handle:
        handle.write("\n".join(lines))
    manifest.repair_manifest(path, str(data_dir))
    records = [json.loads(line) for line in open(path).read().splitlines()]
    assert records == [{"item": "a", "image": "set/images/a.jpg", "seed": 2}]
    assert sorted(os.listdir(folder)) == ["images", os.path.basename(path)]


@pytest.mark.parametrize("text, environ, expected", [
    ("auto", {"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "8"}, (3, 8)),
    ("auto", {"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "8",
              "SLURM_ARRAY_TASK_MIN": "1"}, (2, 8)),  # --array=1-8
    ("auto", {"SLURM_ARRAY_TASK_ID": "14", "SLURM_ARRAY_TASK_COUNT": "8",
              "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_STEP": "2"}, (7, 8)),  # 0-14:2
    ("auto/8", {"SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_COUNT": "8"}, (5, 8)),
    ("auto/4", {"JOB_COMPLETION_INDEX": "3"}, (3, 4)),
    ("2/5", {"JOB_COMPLETION_INDEX": "3"}, (2, 5)),  # a typed shard wins
])
def test_shard_auto_comes_from_the_scheduler(text, environ, expected):
    assert parse_shard(text, environ) == expected


@pytest.mark.parametrize("text, environ, message", [
    ("auto", {}, "neither SLURM_ARRAY_TASK_ID .* nor JOB_COMPLETION_INDEX"),
    ("auto", {"JOB_COMPLETION_INDEX": "1"}, "give it as --shard auto/N"),
    ("auto", {"SLURM_ARRAY_TASK_ID": "1"}, "SLURM_ARRAY_TASK_COUNT is not set"),
    ("auto/4", {"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "8"}, "has 8 tasks, not 4"),
    ("auto/4", {"JOB_COMPLETION_INDEX": "4"}, "gives shard 4 of 4"),
    ("auto/x", {"JOB_COMPLETION_INDEX": "1"}, "must be a whole number"),
    ("auto/4", {"JOB_COMPLETION_INDEX": "one"}, "JOB_COMPLETION_INDEX='one' is not a whole"),
])
def test_shard_auto_without_a_usable_scheduler_is_one_clear_error(text, environ, message):
    with pytest.raises(SyracError, match=message):
        parse_shard(text, environ)


def test_synth_options_are_snake_case_and_keep_their_kebab_spellings():
    from syrac.synth import command

    parser = command.parser("python -m syrac synth")
    base = ["noisy-counts", "--data_dir", "DATA", "--out", "x"]
    snake = parser.parse_args(base + ["--per_count", "3", "--batch_size", "4"])
    kebab = parser.parse_args(base + ["--per-count", "3", "--batch-size", "4"])
    assert vars(snake) == vars(kebab) and snake.per_count == 3 and snake.batch_size == 4
