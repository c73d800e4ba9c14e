"""SYRAC's "Count" step: a non-negative linear probe on a frozen encoder, evaluated patch-wise.

What it reproduces:
    the unsupervised results of the paper (method steps 4-5 of DESIGN.md §1). The encoder
    pre-trained on ranking pairs is frozen; a linear layer with non-negative weights and no
    intercept is fitted by least squares from features of whole noisy synthetic images to their
    prompt counts (the authors' ``LinearRegression(positive=True, fit_intercept=False)``); each
    test image of the benchmark is cut into an N x N grid, every patch (resized back to the input
    shape) is counted, and the patch counts are summed.

Command (the authors' interface; ``--params`` defaults to ``baseline``):

    python3 finetune_wrapper.py --experiment finetuning/unsupervised/noisy_synth_regress \\
        --data_dir DATA --train_data DS_NOISY_SYNTH --test_data DS --N 2 \\
        --experiment_path RUNS --model_path MODEL --params_dir ./config/

    ``--stage fit`` only fits the probe, ``--stage evaluate`` only evaluates the saved one
    (``both``, the default, does both as the authors' script did). ``--split val`` evaluates
    the ``val`` split of ``--test_data`` instead of ``test`` (a dataset made by
    ``python -m syrac prepare`` has ``train``, ``val`` and ``test``). Images listed without a
    count (NWPU-Crowd's test split, whose labels are not public) are refused, never scored.

Runtime:
    the tiny fixture run of the tests (``--params tiny``: 6 synthetic images, 4 test images,
    32x48 inputs, N=2) takes about 10 s on 2 CPU cores, most of it importing TensorFlow and
    loading the encoder. At the paper's 640x853 inputs, ResNet50 encodes about 1.3 patches/s on
    2 CPU cores (measured with ``benchmarks/evaluation_throughput.py``), so with N=2 the 182
    ShanghaiTech A test images (728 patches) take about 10 minutes on CPU and well under a minute
    on one GPU; fitting the probe costs one forward pass per synthetic image (about 0.75 images/s
    on that CPU) plus the NNLS solve (about 0.04 s for 300 x 2048 features, 0.2 s for 1000).

Number to expect:
    for the paper's unsupervised MAE / RMSE per benchmark, see the paper's results table
    (compare its "MSE" column with ``rmse`` here: the literature's "MSE" is a root mean squared
    error). The tiny fixture gives no meaningful number (an encoder pre-trained for one epoch or
    left random, blobs for people): in our runs MAE and RMSE of about 20 on test counts of 0-20,
    i.e. no better than guessing; it only shows that the pipeline runs end to end.

Parameters:
    ``input_shape``, ``preprocessing``, ``probe_batch_size`` and ``eval_batch_size`` come from
    ``--params`` / ``--set``. When the checkpoint sits in a pre-training run folder next to
    ``hyperparams.json``, that file's ``input_shape`` and ``preprocessing`` (how the encoder was
    trained) replace those of ``--params``, unless the key is given explicitly with ``--set``; an
    encoder whose input layer has a fixed size imposes that size. Every replacement is printed
    as a note, and the values used and where they came from are recorded.

Output folder (``OUT``):
    ``<experiment_path>/<model_path>/noisy_synth_regression/`` for a TF SavedModel folder (as the
    authors); for a ``.keras`` checkpoint ``X/best_model_05.keras`` it is
    ``X/best_model_05/noisy_synth_regression/`` (one folder per checkpoint).

    - ``OUT/probe/weights.npy`` + ``OUT/probe/probe.json``: the current probe. Fitting again
      never deletes it: the earlier probe is first moved to
      ``OUT/previous_probes/<its fitted_at timestamp>/``.
    - ``OUT/results.<YYYY-mm-dd-HH-MM-SS>.json``: one evaluation (a ``-1``, ``-2`` ... suffix is
      added rather than overwrite), with per-image paths, true and predicted counts, per-patch
      predictions, mae, mse (no root, as the authors), rmse, r2, N, the encoder, the datasets and
      the resolved configuration;
    - ``OUT/error_by_count.<stamp>.png``, ``OUT/predicted_vs_true.<stamp>.png`` and
      ``OUT/patch_grids.<stamp>.png``, with the same stamp as the results file.

    The last line printed is the summary, e.g. ``MAE 12.34 RMSE 15.67 on DS, N=2`` (``on DS
    (val), N=2`` with ``--split val``).
"""

import datetime
import json
import os
import shutil
import time

import keras
import numpy as np

from syrac.common.annotations import annotations_path, load_count_set, split_note
from syrac.common.config import load_params, parse_overrides
from syrac.common.errors import SyracError
from syrac.count import figures
from syrac.count.encoder_loading import load_encoder, load_hyperparams
from syrac.count.evaluation import evaluate_patchwise
from syrac.count.features import extract_features
from syrac.count.metrics import count_metrics, json_ready
from syrac.count.patches import check_grid
from syrac.count.probe import DESCRIPTION_FILE, CountProbe
from syrac.rank.run_folder import TIMESTAMP_FORMAT, timestamp

EXPERIMENT = "finetuning/unsupervised/noisy_synth_regress"
DEFAULT_PARAMS = "baseline"
OUTPUT_FOLDER = "noisy_synth_regression"
PROBE_FOLDER = "probe"
PREVIOUS_PROBES_FOLDER = "previous_probes"
FIGURE_NAMES = ("error_by_count", "predicted_vs_true", "patch_grids")
# The parameters that describe how the encoder sees an image; they must not change between
# fitting the probe and evaluating it.
ENCODER_SETTINGS = ("input_shape", "preprocessing")


def _require(args, option, why):
    if getattr(args, option, None) in (None, ""):
        raise SyracError(f"--{option} is required {why}")


def check_arguments(args):
    """Refuse missing or nonsense options before any work, naming the option."""
    fitting = args.stage in ("both", "fit")
    evaluating = args.stage in ("both", "evaluate")
    _require(args, "data_dir", "(the folder holding the datasets)")
    _require(args, "model_path", "(the encoder checkpoint, relative to --experiment_path)")
    if fitting:
        _require(args, "train_data", f"to fit the probe (--stage {args.stage})")
    if evaluating:
        _require(args, "test_data", f"to evaluate (--stage {args.stage})")
        _require(args, "N", f"to evaluate (--stage {args.stage}): patches per side, e.g. --N 2")
        if args.N < 1:
            raise SyracError(
                f"--N must be a positive integer (patches per side). Received: N={args.N}"
            )
    if not os.path.isdir(args.data_dir):
        raise SyracError(f"--data_dir {args.data_dir}: no such directory")
    return fitting, evaluating


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


def evaluated_name(args):
    """``DS`` for the test split (the authors' summary line), ``DS (val)`` for another split."""
    return args.test_data if args.split == "test" else f"{args.test_data} ({args.split})"


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


def _unique_path(path):
    candidate, suffix = path, 0
    while os.path.exists(candidate):
        suffix += 1
        candidate = f"{path}-{suffix}"
    return candidate


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
    stamp = None
    try:
        with open(os.path.join(current, DESCRIPTION_FILE), encoding="utf-8") as handle:
            stamp = json.load(handle).get("fitted_at")
    except (OSError, ValueError, AttributeError):
        pass
    if not isinstance(stamp, str) or not stamp or os.sep in stamp:
        stamp = datetime.datetime.fromtimestamp(os.path.getmtime(current)).strftime(
            TIMESTAMP_FORMAT
        )
    destination = _unique_path(os.path.join(folder, PREVIOUS_PROBES_FOLDER, stamp))
    os.makedirs(os.path.dirname(destination), exist_ok=True)
    shutil.move(current, destination)
    return destination


def fit_stage(args, items, encoder, settings, record, folder, params):
    """Extract features of the noisy synthetic set, fit the probe, save it; return the probe."""
    paths = [path for path, _ in items]
    counts = np.asarray([count for _, count in items], dtype=np.float64)
    print(f"Extracting features of {len(paths)} images of {args.train_data}")
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
            "experiment": EXPERIMENT,
            "encoder_path": encoder.path,
            "encoder": encoder.describe(),
            "train_data": args.train_data,
            "data_dir": args.data_dir,
            "input_shape": settings["input_shape"],
            "preprocessing": settings["preprocessing"],
            "probe_batch_size": params["probe_batch_size"],
            "config": record,
            "seconds": {"feature_extraction": extraction_seconds, "nnls": fit_seconds},
        }
    )
    archived = _archive_probe(folder)
    if archived:
        print(f"The earlier probe was moved to {archived}")
    saved = probe.save(os.path.join(folder, PROBE_FOLDER))
    residuals = probe.description["residuals"]
    print(
        f"Probe fitted on {len(paths)} images of {args.train_data} "
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


def evaluate_stage(args, items, encoder, probe, settings, record, folder, params):
    """Evaluate the probe patch-wise on the ``--split`` split; write results and figures."""
    if encoder.feature_dim is not None and encoder.feature_dim != probe.feature_dim:
        raise SyracError(
            f"the probe in {os.path.join(folder, PROBE_FOLDER)} expects {probe.feature_dim} "
            f"features but the encoder {encoder.path} gives {encoder.feature_dim}"
        )
    print(f"Evaluating on {len(items)} {args.split} images of {args.test_data}, N={args.N}")
    result = evaluate_patchwise(
        encoder,
        probe,
        items,
        settings["input_shape"],
        args.N,
        params["eval_batch_size"],
        settings["preprocessing"],
    )
    metrics = count_metrics(result.predictions, result.counts)
    tag = _output_tag(folder)
    figure_paths = {
        name: os.path.join(folder, f"{name}.{tag}.png") for name in FIGURE_NAMES
    }
    results_path = os.path.join(folder, f"results.{tag}.json")
    document = {
        "created": tag,
        "experiment": EXPERIMENT,
        "encoder_path": encoder.path,
        "encoder": encoder.describe(),
        "train_data": probe.description.get("train_data"),
        "test_data": args.test_data,
        "test_split": args.split,
        "data_dir": args.data_dir,
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
    os.makedirs(folder, exist_ok=True)
    with open(results_path, "x", encoding="utf-8") as handle:
        json.dump(document, handle, indent=1, allow_nan=False)
        handle.write("\n")
    title = f"{evaluated_name(args)}, N={result.n}"
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
    print(f"Results written to {results_path}")
    return metrics, results_path


def run(args):
    """Fit the probe (``--stage fit``), evaluate it (``evaluate``) or both (default).

    Returns ``{"folder", "metrics", "results_path"}`` (the last two None without evaluation).
    """
    fitting, evaluating = check_arguments(args)
    checkpoint = checkpoint_path(args.experiment_path, args.model_path)
    overrides = parse_overrides(args.set)
    params, params_file = load_params(
        args.params_dir, args.params or DEFAULT_PARAMS, overrides
    )
    # Cheap checks first: the annotation files and the saved probe, before loading any model.
    train_items = load_count_set(args.data_dir, args.train_data) if fitting else None
    test_items = (
        load_scorable_split(args.data_dir, args.test_data, args.split) if evaluating else None
    )
    folder = output_folder(checkpoint)
    if evaluating and not fitting:
        require_probe(folder)

    encoder = load_encoder(checkpoint)
    hyperparams, hyperparams_file = load_hyperparams(checkpoint)
    settings, sources, notes = resolve_encoder_settings(
        params, params_file, overrides, encoder, hyperparams, hyperparams_file
    )
    for note in notes:
        print(note)
    if evaluating:
        check_grid(args.N, settings["input_shape"][0], settings["input_shape"][1])
    if args.seed is not None:
        keras.utils.set_random_seed(args.seed)
    record = {
        "params": {**params, **settings},
        "params_file": params_file,
        "overrides": overrides,
        "settings_sources": sources,
        "hyperparams_file": hyperparams_file,
        "pretraining_hyperparams": hyperparams,
        "args": {key: value for key, value in vars(args).items()},
    }

    if fitting:
        probe = fit_stage(args, train_items, encoder, settings, record, folder, params)
    else:
        probe = load_saved_probe(folder, settings)
        fitted_on = probe.description.get("train_data")
        if args.train_data and fitted_on != args.train_data:
            print(
                f"note: --stage evaluate uses the saved probe, fitted on {fitted_on}; "
                f"--train_data {args.train_data} is ignored"
            )
    metrics = results_path = None
    if evaluating:
        metrics, results_path = evaluate_stage(
            args, test_items, encoder, probe, settings, record, folder, params
        )
        print(
            f"MAE {metrics['mae']:.2f} RMSE {metrics['rmse']:.2f} on {evaluated_name(args)}, "
            f"N={args.N}"
        )
    return {"folder": folder, "metrics": metrics, "results_path": results_path}
