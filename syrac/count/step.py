"""SYRAC's Count step: a non-negative linear probe on a frozen encoder, evaluated patch-wise.

The encoder pre-trained on ranking pairs is frozen; a linear layer with non-negative weights and
no intercept is fitted by least squares from features of whole noisy synthetic images to their
prompt counts (the authors' ``LinearRegression(positive=True, fit_intercept=False)``); each test
image of a benchmark is cut into an N x N grid, every patch (resized back to the input shape) is
counted, and the patch counts are summed (docs/DESIGN.md §1, steps 4-5).

:func:`run_count_step` does the whole step for one :class:`CountRequest`: the fit, the
evaluation, or both. ``finetune_wrapper.py --experiment finetuning/unsupervised/
noisy_synth_regress`` builds the request from the authors' options; the demo builds it directly.

Output folder (``OUT``): ``<checkpoint>/noisy_synth_regression/`` for a TF SavedModel folder (as
the authors); for a ``.keras`` checkpoint ``X/best_model_05.keras`` it is
``X/best_model_05/noisy_synth_regression/`` (one folder per checkpoint).

- ``OUT/probe/weights.npy`` + ``OUT/probe/probe.json``: the current probe. Fitting again never
  deletes it: the earlier probe is first moved to ``OUT/previous_probes/<its fitted_at>/``.
- ``OUT/results.<YYYY-mm-dd-HH-MM-SS>.json``: one evaluation (a ``-1``, ``-2`` ... suffix is added
  rather than overwrite), with per-image paths, true and predicted counts, per-patch
  predictions, mae, mse (no root, as the authors), rmse, r2, N, the encoder, the datasets and the
  resolved configuration;
- ``OUT/error_by_count.<stamp>.png``, ``OUT/predicted_vs_true.<stamp>.png`` and
  ``OUT/patch_grids.<stamp>.png``, with the same stamp as the results file.

A run killed at any instant and started again with the same command finishes that run, with its
stamp and its probe (:mod:`syrac.count.pending_run`).
"""

import dataclasses
import os
import shutil
import tempfile
import time

import keras
import numpy as np

from syrac.common.annotations import annotations_path, load_count_set, split_note
from syrac.common.errors import SyracError
from syrac.common.files import read_json, timestamp, unique_path, write_new_json
from syrac.count import figures
from syrac.count.batch_sizes import resolved_batch_sizes
from syrac.count.encoder_loading import load_encoder, load_hyperparams
from syrac.count.evaluation import evaluate_patchwise
from syrac.count.features import extract_features
from syrac.count.metrics import count_metrics, json_ready
from syrac.count.patches import check_grid
from syrac.count.pending_run import PROBE_STAGING_PREFIX, PendingRun
from syrac.count.probe import DESCRIPTION_FILE, CountProbe

EXPERIMENT = "finetuning/unsupervised/noisy_synth_regress"
OUTPUT_FOLDER = "noisy_synth_regression"
PROBE_FOLDER = "probe"
PREVIOUS_PROBES_FOLDER = "previous_probes"
FIGURE_NAMES = ("error_by_count", "predicted_vs_true", "patch_grids")
# The parameters that describe how the encoder sees an image; they must not change between
# fitting the probe and evaluating it.
ENCODER_SETTINGS = ("input_shape", "preprocessing")
STAGES = ("both", "fit", "evaluate")


@dataclasses.dataclass
class CountRequest:
    """One Count step: which encoder, which data, which stages, with which parameters.

    Attributes:
        checkpoint: the encoder (a ``.keras`` file or a TF SavedModel folder).
        data_dir: the folder holding the datasets.
        params: validated parameters (``input_shape``, ``preprocessing``, batch sizes).
        params_file: where ``params`` came from (recorded, and named in notes).
        train_data: the noisy synthetic count set to fit the probe on (fitting only).
        test_data: the benchmark to evaluate on (evaluation only), its ``split`` split.
        N: patches per side of the evaluation grid.
        stage: ``"both"``, ``"fit"`` or ``"evaluate"``.
        overrides: the ``--set`` values, which take precedence over the run's hyperparams.
        seed: seeds Keras when given.
        recorded_args: the command's options, recorded with the probe and the results.
        experiment: the experiment name recorded with the probe and the results.
    """

    checkpoint: str
    data_dir: str
    params: dict
    params_file: str
    train_data: str = None
    test_data: str = None
    split: str = "test"
    N: int = None
    stage: str = "both"
    overrides: dict = dataclasses.field(default_factory=dict)
    seed: int = None
    recorded_args: dict = dataclasses.field(default_factory=dict)
    experiment: str = EXPERIMENT

    @property
    def fitting(self):
        return self.stage in ("both", "fit")

    @property
    def evaluating(self):
        return self.stage in ("both", "evaluate")


@dataclasses.dataclass
class CountOutcome:
    """What one Count step produced (the metrics and predictions are None without evaluation)."""

    folder: str
    probe: CountProbe
    metrics: dict = None
    results_path: str = None
    predictions: list = None
    counts: list = None

    @property
    def probe_folder(self):
        return os.path.join(self.folder, PROBE_FOLDER)


def _require(value, option, why):
    if value in (None, ""):
        raise SyracError(f"--{option} is required {why}")


def check_request(request):
    """Refuse missing or nonsense settings before any work, naming the option."""
    if request.stage not in STAGES:
        raise SyracError(f"--stage must be one of {list(STAGES)}. Received: {request.stage!r}")
    _require(request.data_dir, "data_dir", "(the folder holding the datasets)")
    _require(request.checkpoint, "model_path",
             "(the encoder checkpoint, relative to --experiment_path)")
    if request.fitting:
        _require(request.train_data, "train_data", f"to fit the probe (--stage {request.stage})")
    if request.evaluating:
        _require(request.test_data, "test_data", f"to evaluate (--stage {request.stage})")
        _require(request.N, "N",
                 f"to evaluate (--stage {request.stage}): patches per side, e.g. --N 2")
        if request.N < 1:
            raise SyracError(
                f"--N must be a positive integer (patches per side). Received: N={request.N}"
            )
    if not os.path.isdir(request.data_dir):
        raise SyracError(f"--data_dir {request.data_dir}: no such directory")


def load_scorable_split(data_dir, dataset, split):
    """Read the split to evaluate; refuse it, naming why, if any of its images has no count."""
    items = load_count_set(data_dir, dataset, split=split, allow_missing_counts=True)
    unlabelled = [path for path, count in items if count is None]
    if unlabelled:
        note = split_note(data_dir, dataset, split) or "evaluate a labelled split with --split"
        raise SyracError(
            f"{annotations_path(data_dir, dataset)}: {len(unlabelled)} of {len(items)} images "
            f"of the '{split}' split have no count and cannot be scored (e.g. "
            f"{unlabelled[0]}); {note}"
        )
    return items


def evaluated_name(request):
    """``DS`` for the test split (the authors' summary line), ``DS (val)`` for another split."""
    if request.split == "test":
        return request.test_data
    return f"{request.test_data} ({request.split})"


def checkpoint_path(experiment_path, model_path):
    """``--model_path`` is relative to ``--experiment_path`` (an absolute path is kept)."""
    return os.path.join(experiment_path or "", model_path)


def output_folder(checkpoint):
    """``MODEL/noisy_synth_regression`` for a SavedModel folder, ``X/best_model_05/...`` for
    ``X/best_model_05.keras``."""
    base = checkpoint.rstrip("/\\")
    if base.endswith(".keras"):
        base = base[: -len(".keras")]
    return os.path.join(base, OUTPUT_FOLDER)


def resolve_encoder_settings(params, params_file, overrides, encoder, hyperparams,
                             hyperparams_file):
    """Decide the input shape and preprocessing the encoder is used with, and say why.

    Precedence, lowest first: ``--params``; the pre-training run's ``hyperparams.json``;
    ``--set``; for the input shape, the encoder's own fixed input size.

    Returns:
        ``(settings, sources, notes)``: the values, where each came from, and the notes to print.
    """
    settings, sources, notes = {}, {}, []
    for key in ENCODER_SETTINGS:
        value, source = params[key], f"--params {params_file}"
        if key in overrides:
            source = "--set"
            if key in hyperparams and hyperparams[key] != value:
                notes.append(
                    f"note: using {key}={value} from --set although the encoder was "
                    f"pre-trained with {key}={hyperparams[key]} ({hyperparams_file})"
                )
        elif key in hyperparams:
            if hyperparams[key] != value:
                notes.append(
                    f"note: using {key}={hyperparams[key]} from {hyperparams_file} (how the "
                    f"encoder was pre-trained) instead of {key}={value} from {source}"
                )
            value, source = hyperparams[key], hyperparams_file
        settings[key], sources[key] = value, source
    fixed = encoder.input_shape
    if fixed is not None and fixed != settings["input_shape"]:
        notes.append(
            f"note: using input_shape={fixed}, the fixed input size of the encoder "
            f"{encoder.path}, instead of input_shape={settings['input_shape']} from "
            f"{sources['input_shape']}"
        )
        settings["input_shape"], sources["input_shape"] = fixed, "the encoder's input layer"
    return settings, sources, notes


def _output_tag(folder):
    """A timestamp (plus ``-1``, ``-2``... if needed) that no results or figure file uses yet."""
    stamp = timestamp()
    tag, suffix = stamp, 0
    while any(
        os.path.exists(os.path.join(folder, f"{name}.{tag}.{ext}"))
        for name, ext in [("results", "json")] + [(n, "png") for n in FIGURE_NAMES]
    ):
        suffix += 1
        tag = f"{stamp}-{suffix}"
    return tag


def _archive_probe(folder):
    """Move an existing probe out of the way, into ``previous_probes/<fitted_at>``."""
    current = os.path.join(folder, PROBE_FOLDER)
    if not os.path.exists(current):
        return None
    try:
        description = read_json(os.path.join(current, DESCRIPTION_FILE), default={})
    except SyracError:
        description = {}
    stamp = description.get("fitted_at") if isinstance(description, dict) else None
    if not isinstance(stamp, str) or not stamp or os.sep in stamp:
        stamp = timestamp(os.path.getmtime(current))
    destination = unique_path(os.path.join(folder, PREVIOUS_PROBES_FOLDER, stamp))
    os.makedirs(os.path.dirname(destination), exist_ok=True)
    shutil.move(current, destination)
    return destination


def fit_stage(request, items, encoder, settings, record, folder, params, run):
    """Extract features of the noisy synthetic set, fit the probe, save it; return the probe.

    A run resumed after a kill reuses the probe it had already saved (``run_tag``)."""
    current = os.path.join(folder, PROBE_FOLDER)
    if run.resumed and os.path.isfile(os.path.join(current, DESCRIPTION_FILE)):
        probe = CountProbe.load(current)
        if probe.description.get("run_tag") == run.tag:
            print(f"Using the probe this run saved before it was interrupted: {current}")
            return probe
    paths = [path for path, _ in items]
    counts = np.asarray([count for _, count in items], dtype=np.float64)
    print(f"Extracting features of {len(paths)} images of {request.train_data}")
    start = time.perf_counter()
    features = extract_features(
        encoder,
        paths,
        settings["input_shape"],
        params["probe_batch_size"],
        settings["preprocessing"],
    )
    extraction_seconds = time.perf_counter() - start
    start = time.perf_counter()
    probe = CountProbe().fit(features, counts)
    fit_seconds = time.perf_counter() - start
    probe.description.update(
        {
            "fitted_at": timestamp(),
            "experiment": request.experiment,
            "encoder_path": encoder.path,
            "encoder": encoder.describe(),
            "train_data": request.train_data,
            "data_dir": request.data_dir,
            "input_shape": settings["input_shape"],
            "preprocessing": settings["preprocessing"],
            "probe_batch_size": params["probe_batch_size"],
            "config": record,
            "seconds": {"feature_extraction": extraction_seconds, "nnls": fit_seconds},
            "run_tag": run.tag,
        }
    )
    archived = _archive_probe(folder)
    if archived:
        print(f"The earlier probe was moved to {archived}")
    staging = tempfile.mkdtemp(prefix=PROBE_STAGING_PREFIX, suffix=".tmp", dir=folder)
    probe.save(staging)
    saved = os.path.join(folder, PROBE_FOLDER)
    os.rename(staging, saved)  # the probe appears whole, or not at all
    residuals = probe.description["residuals"]
    print(
        f"Probe fitted on {len(paths)} images of {request.train_data} "
        f"({probe.description['nonzero_weights']} of {probe.feature_dim} weights non-zero; "
        f"training MAE {residuals['mae']:.2f} RMSE {residuals['rmse']:.2f}), saved to {saved}"
    )
    return probe


def require_probe(folder):
    """Fail, naming the folder, when no probe was fitted for this encoder yet."""
    probe_folder = os.path.join(folder, PROBE_FOLDER)
    if not os.path.isdir(probe_folder):
        raise SyracError(
            f"no probe has been fitted for this encoder ({probe_folder} does not exist); "
            "run with --stage fit or --stage both first"
        )
    return probe_folder


def load_saved_probe(folder, settings):
    """Read the probe fitted for this encoder; refuse one fitted with other encoder settings."""
    probe_folder = require_probe(folder)
    probe = CountProbe.load(probe_folder)
    for key in ENCODER_SETTINGS:
        fitted_with = probe.description.get(key)
        if fitted_with is not None and fitted_with != settings[key]:
            raise SyracError(
                f"the probe in {probe_folder} was fitted with {key}={fitted_with}, but this "
                f"run resolves {key}={settings[key]}; use the same settings or fit again "
                "(--stage both)"
            )
    return probe


def evaluate_stage(request, items, encoder, probe, settings, record, folder, params, run):
    """Evaluate the probe patch-wise on the ``--split`` split; write results and figures."""
    if encoder.feature_dim is not None and encoder.feature_dim != probe.feature_dim:
        raise SyracError(
            f"the probe in {os.path.join(folder, PROBE_FOLDER)} expects {probe.feature_dim} "
            f"features but the encoder {encoder.path} gives {encoder.feature_dim}"
        )
    print(f"Evaluating on {len(items)} {request.split} images of {request.test_data}, "
          f"N={request.N}")
    result = evaluate_patchwise(
        encoder,
        probe,
        items,
        settings["input_shape"],
        request.N,
        params["eval_batch_size"],
        settings["preprocessing"],
    )
    metrics = count_metrics(result.predictions, result.counts)
    tag = run.tag
    figure_paths = {
        name: os.path.join(folder, f"{name}.{tag}.png") for name in FIGURE_NAMES
    }
    results_path = os.path.join(folder, f"results.{tag}.json")
    document = {
        "created": tag,
        "experiment": request.experiment,
        "encoder_path": encoder.path,
        "encoder": encoder.describe(),
        "train_data": probe.description.get("train_data"),
        "test_data": request.test_data,
        "test_split": request.split,
        "data_dir": request.data_dir,
        "N": result.n,
        "patches_per_image": result.n * result.n,
        **json_ready(metrics),
        "metric_notes": "mse is the mean squared error without root (the authors' 'mse'); "
        "rmse is its root, the crowd-counting literature's 'MSE'; r2 is null when all "
        "true counts are equal",
        "image_paths": result.image_paths,
        "counts": result.counts.tolist(),
        "predictions": result.predictions.tolist(),
        "patch_predictions": result.patch_predictions.tolist(),
        "probe": {
            "folder": os.path.join(folder, PROBE_FOLDER),
            "fitted_at": probe.description.get("fitted_at"),
            "n_samples": probe.description.get("n_samples"),
            "residuals": probe.description.get("residuals"),
        },
        "config": record,
        "seconds": result.seconds,
        "figures": figure_paths,
    }
    title = f"{evaluated_name(request)}, N={result.n}"
    figures.error_by_count_range(
        result.predictions, result.counts, figure_paths["error_by_count"], title=title
    )
    figures.predicted_vs_true(
        result.predictions,
        result.counts,
        figure_paths["predicted_vs_true"],
        metrics["mae"],
        metrics["rmse"],
        title=title,
    )
    figures.patch_grids(
        result.image_paths,
        settings["input_shape"],
        result.n,
        result.patch_predictions,
        result.counts,
        figure_paths["patch_grids"],
    )
    # Last: the results file says the evaluation is complete (figures first, see pending_run).
    write_new_json(results_path, document, indent=1, sort_keys=False, allow_nan=False)
    print(f"Results written to {results_path}")
    return metrics, results_path, result


def run_count_step(request):
    """Fit the probe, evaluate it, or both, as ``request`` asks; return a :class:`CountOutcome`."""
    check_request(request)
    params, params_file, overrides = request.params, request.params_file, request.overrides
    # Cheap checks first: the annotation files and the saved probe, before loading any model.
    train_items = load_count_set(request.data_dir, request.train_data) if request.fitting else None
    test_items = (load_scorable_split(request.data_dir, request.test_data, request.split)
                  if request.evaluating else None)
    folder = output_folder(request.checkpoint)
    if request.evaluating and not request.fitting:
        require_probe(folder)

    encoder = load_encoder(request.checkpoint)
    hyperparams, hyperparams_file = load_hyperparams(request.checkpoint)
    settings, sources, notes = resolve_encoder_settings(
        params, params_file, overrides, encoder, hyperparams, hyperparams_file
    )
    for note in notes:
        print(note)
    if request.evaluating:
        check_grid(request.N, settings["input_shape"][0], settings["input_shape"][1])
    if request.seed is not None:
        keras.utils.set_random_seed(request.seed)
    saved_probe = None if request.fitting else load_saved_probe(folder, settings)
    # Every check passed: from here on the step writes, and a kill is finished by a re-run.
    run = PendingRun.begin(folder, {"args": dict(request.recorded_args), "params": params,
                                    "overrides": overrides}, lambda: _output_tag(folder))
    params = {**params, **resolved_batch_sizes(params, settings["input_shape"])}
    record = {
        "params": {**params, **settings},
        "params_file": params_file,
        "overrides": overrides,
        "settings_sources": sources,
        "hyperparams_file": hyperparams_file,
        "pretraining_hyperparams": hyperparams,
        "args": dict(request.recorded_args),
    }

    if request.fitting:
        probe = fit_stage(request, train_items, encoder, settings, record, folder, params, run)
    else:
        probe = saved_probe
        fitted_on = probe.description.get("train_data")
        if request.train_data and fitted_on != request.train_data:
            print(
                f"note: --stage evaluate uses the saved probe, fitted on {fitted_on}; "
                f"--train_data {request.train_data} is ignored"
            )
    outcome = CountOutcome(folder=folder, probe=probe)
    if request.evaluating:
        metrics, results_path, result = evaluate_stage(
            request, test_items, encoder, probe, settings, record, folder, params, run
        )
        outcome = CountOutcome(folder, probe, metrics, results_path,
                               result.predictions.tolist(), result.counts.tolist())
        print(
            f"MAE {metrics['mae']:.2f} RMSE {metrics['rmse']:.2f} on {evaluated_name(request)}, "
            f"N={request.N}"
        )
    run.finish()
    return outcome
