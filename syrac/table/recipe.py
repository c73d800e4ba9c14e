"""Recipes: what a results table is made of, read from a YAML file and checked before any work.

A recipe names the encoders (rows), the noisy count set the probe is fitted on, the benchmarks
and splits (columns), the grid sizes N, the selection rule and the seeds. Every key is checked:
an unknown key, a missing dataset, a benchmark split without labels or a nonsense value is
refused in one line naming the recipe and the key, before anything is trained or written.

    data_dir: DATA                  # holds every dataset below (relative to the recipe file)
    params_dir: ../                 # parameter sets (relative to the recipe file)
    params: baseline                # pre-training and probe parameters
    set: [epochs=2]                 # optional --set overrides for every row
    seeds: [0]                      # one pre-training (and untrained init) per seed
    noisy_set: noisy_counts         # the probe's training set
    N: [1, 2, 3, 4]
    selection: {rule: fixed, N: 2}  # fixed | rank_val (both need N) | count_val
    benchmarks:
      - {dataset: sha, split: test, val_split: val, label: ShanghaiTech A}
    encoders:
      - {name: untrained, untrained: true}
      - {name: ImageNet only, untrained: true, set: [weights=imagenet]}
      - {name: SYRAC ranking, pretrain: {dataset: sha_removed}}
      - {name: authors' checkpoint, checkpoint: path/to/best_model_05.keras}
      - {name: predict the mean noisy label, mean: true}
      - {name: SYRAC, probe with empty scenes, pretrain: {dataset: sha_removed},
         noisy_set: noisy_counts_with_empty}   # a row's own count set for its probe
    rank_accuracy: {dataset: sha_removed, split: val}   # optional: a rank-accuracy column
    literature: literature.csv      # optional, relative to the recipe file

A ``mean`` row is the baseline every encoder must beat: it predicts the mean label of the noisy
set for every image. ``rank_accuracy`` adds, beside each benchmark's MAE and RMSE, how often the
row's probe counts a held-out ranking pair's source above its target (the mean row ties every
pair: 0.5).

Two optional keys make the data first: ``toy_world: {height: 64, ...}`` draws (or reuses, from
the project's cache, :func:`syrac.common.files.cache_folder`, or from ``cache`` when given,
relative to the recipe file) a toy world
(:class:`syrac.toy_world.world.WorldConfig` fields) and uses its data folder as ``data_dir``;
``intra_rank: {out: NAME, from: RANKING_SET, levels: 5, ...}`` makes a ranking set of nested
crops (``prepare intra-rank``'s options) from the source images of the train split of ``from``,
unless ``DATA/NAME`` exists. Loading a recipe does no work: it checks every key and, when the
data exists already, the data; :func:`make_data`, the first step of the table's build, makes
what these two keys ask for and then checks the data.
"""

import dataclasses
import math
import os

from syrac.common.annotations import annotations_path, load_count_set, load_ranking_set
from syrac.common.config import load_params, parse_overrides
from syrac.common.errors import SyracError
from syrac.common.files import cache_folder
from syrac.common.numbers import SEED_RANGE, as_integer, as_number, as_seed, load_yaml

RULES = ("fixed", "rank_val", "count_val")
TOP_KEYS = {"data_dir", "params_dir", "params", "set", "seeds", "noisy_set", "N", "selection",
            "benchmarks", "encoders", "literature", "title", "toy_world", "intra_rank",
            "rank_accuracy"}
INTRA_RANK_KEYS = {"out", "from", "levels", "scale", "chains", "placement", "min_side",
                   "val_fraction", "seed"}
ENCODER_KINDS = ("untrained", "pretrain", "checkpoint", "mean")


@dataclasses.dataclass(frozen=True)
class Benchmark:
    """A column group: a benchmark's reported split, and the labelled split used to select."""

    dataset: str
    split: str
    val_split: str = None
    label: str = None

    @property
    def title(self):
        return self.label or (self.dataset if self.split == "test"
                              else f"{self.dataset} ({self.split})")


@dataclasses.dataclass(frozen=True)
class EncoderRow:
    """A table row: how its encoder is obtained (untrained, pre-trained, or a given checkpoint),
    or the mean predictor (kind ``mean``: no encoder)."""

    name: str
    kind: str
    dataset: str = None          # pretrain: the ranking set
    checkpoint: str = None       # checkpoint: the file or SavedModel folder
    overrides: tuple = ()        # --set values for this row, after the recipe's
    filter_classes: tuple = ()
    noisy_set: str = None        # the count set this row's probe is fitted on (the recipe's)
    run_name: str = None         # pretrain: the run folder name, shared by rows that pre-train
                                 # alike (the first such row's name)


@dataclasses.dataclass(frozen=True)
class Recipe:
    path: str
    title: str
    data_dir: str
    params_dir: str
    params_name: str
    overrides: tuple
    seeds: tuple
    noisy_set: str
    ns: tuple
    rule: str
    fixed_n: int
    benchmarks: tuple
    encoders: tuple
    literature: str = None
    toy_world: tuple = None      # (cache folder, WorldConfig) when the recipe draws its data
    intra_rank: dict = None      # prepare intra-rank's options when the recipe makes that set
    rank_pairs: tuple = None     # (ranking set, split) scored by the rank-accuracy column

    def params_for(self, row):
        """The validated parameters of ``row`` (the recipe's set, then the row's ``--set``)."""
        source = f"{self.path}: 'set' of the recipe or of encoder '{row.name}'"
        params, _ = load_params(self.params_dir, self.params_name,
                                parse_overrides([*self.overrides, *row.overrides], source),
                                source=source)
        return params


def _fail(path, message):
    raise SyracError(f"{path}: {message}")


def _relative(path, base):
    return path if os.path.isabs(path) else os.path.normpath(os.path.join(base, path))


def _strings(path, key, value):
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        _fail(path, f"'{key}' must be a list of strings. Received: {value!r}")
    return tuple(value)


def _integers(path, key, value, minimum):
    values = value if isinstance(value, list) else [value]
    read = [as_integer(v) for v in values]
    if not read or any(v is None or v < minimum for v in read) or len(set(read)) != len(read):
        _fail(path, f"'{key}' must be distinct integers >= {minimum}. Received: {value!r}")
    return tuple(read)


def _seeds(path, value):
    values = value if isinstance(value, list) else [value]
    read = [as_seed(v) for v in values]
    if not read or None in read or len(set(read)) != len(read):
        _fail(path, f"'seeds' must be distinct, each must be {SEED_RANGE}. Received: {value!r}")
    return tuple(read)


def _selection(path, value, ns):
    if isinstance(value, str):
        value = {"rule": value}
    if not isinstance(value, dict) or set(value) - {"rule", "N"}:
        _fail(path, f"'selection' must be {{rule: fixed|rank_val|count_val, N: n}}. "
                    f"Received: {value!r}")
    rule = value.get("rule")
    if rule not in RULES:
        _fail(path, f"'selection.rule' must be one of {list(RULES)}. Received: {rule!r}")
    fixed_n = value.get("N")
    if rule in ("fixed", "rank_val"):
        fixed_n = as_integer(fixed_n)
        if fixed_n not in ns:
            _fail(path, f"'selection.N' must be one of N {list(ns)} for rule {rule}. "
                        f"Received: {value.get('N')!r}")
    elif fixed_n is not None:
        _fail(path, "'selection.N' is chosen on labelled val by rule count_val; remove it")
    return rule, fixed_n


def _benchmark(path, index, entry, rule):
    where = f"benchmarks[{index}]"
    if not isinstance(entry, dict) or set(entry) - {"dataset", "split", "val_split", "label"}:
        _fail(path, f"'{where}' must be {{dataset, split, val_split, label}}. Received: {entry!r}")
    if not isinstance(entry.get("dataset"), str):
        _fail(path, f"'{where}.dataset' must name a dataset. Received: {entry.get('dataset')!r}")
    benchmark = Benchmark(entry["dataset"], entry.get("split", "test"), entry.get("val_split"),
                          entry.get("label"))
    if rule == "count_val" and not benchmark.val_split:
        _fail(path, f"'{where}.val_split' is needed by selection rule count_val")
    if benchmark.val_split == benchmark.split:
        _fail(path, f"'{where}': val_split and split are both '{benchmark.split}'; nothing may "
                    "be selected on the split that is reported")
    return benchmark


def _encoder(path, index, entry, base):
    where = f"encoders[{index}]"
    allowed = {"name", "set", "noisy_set", *ENCODER_KINDS}
    if not isinstance(entry, dict) or set(entry) - allowed:
        _fail(path, f"'{where}' accepts {sorted(allowed)}. Received: {entry!r}")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        _fail(path, f"'{where}.name' must be a non-empty string")
    kinds = [kind for kind in ENCODER_KINDS if entry.get(kind) not in (None, False)]
    if len(kinds) != 1:
        _fail(path, f"'{where}' ({name}) needs exactly one of {list(ENCODER_KINDS)}")
    overrides = _strings(path, f"{where}.set", entry.get("set"))
    noisy_set = entry.get("noisy_set")
    if noisy_set is not None and not isinstance(noisy_set, str):
        _fail(path, f"'{where}.noisy_set' must name a count set. Received: {noisy_set!r}")
    kind = kinds[0]
    row = _encoder_row(path, where, entry, base, name=name, kind=kind, overrides=overrides)
    return dataclasses.replace(row, noisy_set=noisy_set)


def _encoder_row(path, where, entry, base, *, name, kind, overrides):
    if kind == "pretrain":
        spec = entry["pretrain"]
        if not isinstance(spec, dict) or set(spec) - {"dataset", "filter_classes"} \
                or not isinstance(spec.get("dataset"), str):
            _fail(path, f"'{where}.pretrain' must be {{dataset: RANKING_SET, filter_classes: "
                        f"[...]}}. Received: {spec!r}")
        return EncoderRow(name, kind, dataset=spec["dataset"], overrides=overrides,
                          filter_classes=_strings(path, f"{where}.pretrain.filter_classes",
                                                  spec.get("filter_classes")))
    if kind == "checkpoint":
        checkpoint = _relative(str(entry["checkpoint"]), base)
        if not os.path.exists(checkpoint):
            _fail(path, f"'{where}.checkpoint' {checkpoint}: no such file or folder")
        return EncoderRow(name, kind, checkpoint=checkpoint, overrides=overrides)
    if entry[kind] is not True:
        _fail(path, f"'{where}.{kind}' must be true")
    if kind == "mean" and overrides:
        _fail(path, f"'{where}.set': the mean predictor ({name}) has no parameters to set")
    return EncoderRow(name, kind, overrides=overrides)


def _share_pretraining(encoders):
    """Rows that pre-train alike (same ranking set, classes and parameters) share one run per
    seed, named after the first of them: they differ only in what comes after, e.g. the count
    set of their probe."""
    first = {}
    shared = []
    for row in encoders:
        if row.kind == "pretrain":
            spec = (row.dataset, row.filter_classes, row.overrides)
            first.setdefault(spec, row.name)
            row = dataclasses.replace(row, run_name=first[spec])
        shared.append(row)
    return tuple(shared)


def _check_labelled(path, data_dir, dataset, split, why):
    if not os.path.isfile(annotations_path(data_dir, dataset)):
        _fail(path, f"{why}: no dataset '{dataset}' in {data_dir} "
                    f"({annotations_path(data_dir, dataset)} does not exist)")
    items = load_count_set(data_dir, dataset, split=split, allow_missing_counts=True)
    unlabelled = sum(1 for _, count in items if count is None)
    if unlabelled:
        _fail(path, f"{why}: {unlabelled} of {len(items)} images of {dataset}/{split} have no "
                    "count; a table cell needs a labelled split")


def read_recipe_document(path):
    """The recipe file at ``path`` as a mapping, unchecked (a driver may amend it first)."""
    if os.path.isdir(path):
        raise SyracError(f"{path}: a folder, not a recipe file (a recipe is a YAML file, e.g. "
                         "config/recipes/toy.yaml)")
    if not os.path.isfile(path):
        raise SyracError(f"{path}: no such recipe file")
    try:
        with open(path, "rb") as handle:
            document = load_yaml(handle.read())
    except Exception as error:  # noqa: BLE001 (any YAML failure is the same to the user)
        raise SyracError(f"{path}: malformed YAML: {str(error).splitlines()[0]}") from None
    return document


def load_recipe(path):
    """Read and check the recipe at ``path``; return a :class:`Recipe`."""
    return recipe_from_document(read_recipe_document(path), path)


def recipe_from_document(document, path):
    """Check a recipe mapping read from ``path`` (relative paths are read against its folder);
    return a :class:`Recipe`. Every key is checked, and the data when it exists already."""
    if not isinstance(document, dict):
        _fail(path, "a recipe is a mapping of keys (see syrac/table/recipe.py)")
    unknown = sorted(set(document) - TOP_KEYS)
    if unknown:
        _fail(path, f"unknown key(s) {unknown}; known keys are {sorted(TOP_KEYS)}")
    for key in ("noisy_set", "N", "selection", "benchmarks", "encoders"):
        if key not in document:
            _fail(path, f"missing key '{key}'")
    if ("data_dir" in document) == ("toy_world" in document):
        _fail(path, "give either 'data_dir' or 'toy_world' (which makes the data)")
    base = os.path.dirname(os.path.abspath(path))
    world = _toy_world(path, document.get("toy_world"))
    intra_rank = _intra_rank(path, document.get("intra_rank"))
    params_dir = _relative(str(document.get("params_dir", "config")), base)
    ns = _integers(path, "N", document["N"], 1)
    rule, fixed_n = _selection(path, document["selection"], ns)
    seeds = _seeds(path, document.get("seeds", [0]))
    if not isinstance(document["benchmarks"], list) or not document["benchmarks"]:
        _fail(path, "'benchmarks' must be a non-empty list")
    if not isinstance(document["encoders"], list) or not document["encoders"]:
        _fail(path, "'encoders' must be a non-empty list")
    benchmarks = tuple(_benchmark(path, i, entry, rule)
                       for i, entry in enumerate(document["benchmarks"]))
    encoders = tuple(_encoder(path, i, entry, base) for i, entry in enumerate(document["encoders"]))
    names = [row.name for row in encoders]
    if len(set(names)) != len(names):
        _fail(path, f"encoder names must be distinct. Received: {names}")
    encoders = _share_pretraining(encoders)
    rank_pairs = _rank_pairs(path, document.get("rank_accuracy"))
    literature = document.get("literature")
    if literature is not None:
        literature = _relative(str(literature), base)
        if not os.path.isfile(literature):
            _fail(path, f"'literature' {literature}: no such file")
    if world is not None:
        cache, config = world
        data_dir = os.path.join(cache, config.digest(), "data")  # made by make_data
    else:
        data_dir = _relative(str(document["data_dir"]), base)
    recipe = Recipe(
        path=path, title=str(document.get("title") or os.path.basename(path)), data_dir=data_dir,
        params_dir=params_dir, params_name=str(document.get("params", "baseline")),
        overrides=_strings(path, "set", document.get("set")), seeds=seeds,
        noisy_set=str(document["noisy_set"]), ns=ns, rule=rule, fixed_n=fixed_n,
        benchmarks=benchmarks, encoders=encoders, literature=literature,
        toy_world=world, intra_rank=intra_rank, rank_pairs=rank_pairs,
    )
    from syrac.count.patches import check_grid  # loads TensorFlow: after the cheap checks

    for row in recipe.encoders:  # every row's parameters, and N against its input shape
        params = recipe.params_for(row)
        for n in recipe.ns:
            check_grid(n, params["input_shape"][0], params["input_shape"][1],
                       spelled=f"{path}: 'N'")
    if world is None and intra_rank is None:
        check_data(recipe)  # the data exists already: check it now, before any work
    return recipe


def make_data(recipe):
    """The first step of a table's build: draw the recipe's toy world and make its intra-image
    ranking set, each unless already made, then check the data as :func:`load_recipe` checks
    a recipe whose data exists."""
    if recipe.toy_world is not None:
        from syrac.toy_world.world import load_or_generate_world

        made = load_or_generate_world(*recipe.toy_world)
        assert os.path.normpath(made) == os.path.normpath(recipe.data_dir), made
    if recipe.intra_rank is not None:
        _make_intra_rank(recipe.path, recipe.data_dir, recipe.intra_rank)
    check_data(recipe)
    return recipe


def _toy_world(path, spec):
    """``(cache folder, WorldConfig)`` of a ``toy_world`` key, checked; None without one."""
    if spec is None:
        return None
    from syrac.toy_world.world import WorldConfig

    fields = {field.name for field in dataclasses.fields(WorldConfig)}
    if not isinstance(spec, dict) or set(spec) - fields - {"cache"}:
        _fail(path, f"'toy_world' accepts cache and {sorted(fields)}. Received: {spec!r}")
    values = {key: tuple(value) if isinstance(value, list) else value
              for key, value in spec.items() if key != "cache"}
    try:
        config = WorldConfig(**values)
        config.check()
    except (TypeError, ValueError, SyracError) as error:
        _fail(path, f"'toy_world': {error}")
    cache = spec.get("cache")
    if cache is None:
        return cache_folder("toy_world"), config  # the demo's default too
    return _relative(str(cache), os.path.dirname(os.path.abspath(path))), config


def _rank_pairs(path, spec):
    """``(ranking set, split)`` of a ``rank_accuracy`` key, checked; None without one."""
    if spec is None:
        return None
    if not isinstance(spec, dict) or set(spec) - {"dataset", "split"} \
            or not isinstance(spec.get("dataset"), str) \
            or not isinstance(spec.get("split", "val"), str):
        _fail(path, f"'rank_accuracy' must be {{dataset: RANKING_SET, split: val}}. "
                    f"Received: {spec!r}")
    return spec["dataset"], spec.get("split", "val")


def _intra_rank(path, spec):
    if spec is None:
        return None
    if not isinstance(spec, dict) or set(spec) - INTRA_RANK_KEYS \
            or not isinstance(spec.get("out"), str) or not isinstance(spec.get("from"), str):
        _fail(path, f"'intra_rank' needs out and from, and accepts {sorted(INTRA_RANK_KEYS)}. "
                    f"Received: {spec!r}")
    from syrac.prepare.intra_rank import IntraRankRequest

    settings = {}
    for key, value in spec.items():
        if key in ("out", "from"):
            continue
        kind = type(getattr(IntraRankRequest, key))
        read = value if kind is str else (as_integer(value) if kind is int
                                          else as_number(value))
        if not isinstance(read, kind if kind is not float else (int, float)) \
                or (kind is float and not math.isfinite(read)):
            wanted = {int: "an integer", float: "a number", str: "a string"}[kind]
            _fail(path, f"'intra_rank.{key}' must be {wanted}. Received: {value!r}")
        settings[key] = read
    IntraRankRequest(images=[], data_dir=None, out=spec["out"], **settings).check(
        spelled=lambda field: f"{path}: 'intra_rank.{field}'")
    return {"out": spec["out"], "from": spec["from"], **settings}


def _make_intra_rank(path, data_dir, spec):
    """``prepare intra-rank`` on the train sources of ``spec["from"]``, unless already made."""
    if os.path.isfile(annotations_path(data_dir, spec["out"])):
        print(f"{annotations_path(data_dir, spec['out'])}: reusing the intra-image ranking set")
        return
    from syrac.prepare.intra_rank import IntraRankRequest, prepare_intra_rank

    sources = sorted({source for source, _ in load_ranking_set(data_dir, spec["from"])["train"]})
    settings = {key: value for key, value in spec.items() if key not in ("out", "from")}
    prepare_intra_rank(IntraRankRequest(images=sources, data_dir=data_dir, out=spec["out"],
                                        **settings))


def check_data(recipe):
    """Every dataset exists and every split to score is labelled (after the data is made)."""
    path = recipe.path
    if not os.path.isdir(recipe.data_dir):
        _fail(path, f"'data_dir' {recipe.data_dir}: no such folder")
    if not os.path.isfile(annotations_path(recipe.data_dir, recipe.noisy_set)):
        _fail(path, f"'noisy_set': no dataset '{recipe.noisy_set}' in {recipe.data_dir} "
                    f"({annotations_path(recipe.data_dir, recipe.noisy_set)} does not exist)")
    load_count_set(recipe.data_dir, recipe.noisy_set)
    for row in recipe.encoders:
        if row.noisy_set and not os.path.isfile(annotations_path(recipe.data_dir, row.noisy_set)):
            _fail(path, f"encoder '{row.name}': 'noisy_set': no dataset '{row.noisy_set}' in "
                        f"{recipe.data_dir}")
    for benchmark in recipe.benchmarks:
        _check_labelled(path, recipe.data_dir, benchmark.dataset, benchmark.split,
                        f"benchmark {benchmark.title}")
        if benchmark.val_split:
            _check_labelled(path, recipe.data_dir, benchmark.dataset, benchmark.val_split,
                            f"benchmark {benchmark.title} (val_split)")
    if recipe.rank_pairs is not None:
        dataset, split = recipe.rank_pairs
        if not os.path.isfile(annotations_path(recipe.data_dir, dataset)):
            _fail(path, f"'rank_accuracy': no ranking set '{dataset}' in {recipe.data_dir}")
        try:
            load_ranking_set(recipe.data_dir, dataset, splits=(split,))  # present, non-empty
        except SyracError as error:
            _fail(path, f"'rank_accuracy': {error}")
    for row in recipe.encoders:
        if row.kind == "pretrain" and not os.path.isfile(
                annotations_path(recipe.data_dir, row.dataset)):
            _fail(path, f"encoder '{row.name}': no ranking set '{row.dataset}' in "
                        f"{recipe.data_dir}")
