"""SYRAC's Count step: a non-negative linear probe on a frozen encoder, evaluated patch-wise.

The encoder pre-trained on ranking pairs is frozen; a linear layer with non-negative weights and
no intercept is fitted by least squares from features of whole noisy synthetic images to their
prompt counts (the authors' ``LinearRegression(positive=True, fit_intercept=False)``); each test
image of a benchmark is cut into an N x N grid, every patch (resized back to the input shape) is
counted, and the patch counts are summed (docs/DESIGN.md §1, steps 4-5).

:func:`run_count_step` orchestrates the step for one :class:`~syrac.count.request.CountRequest`:
checks first, then the fit, the evaluation, or both. The pieces are elsewhere: the request
(:mod:`syrac.count.request`), which settings apply (:mod:`syrac.count.settings`), the two
computations every driver shares (:mod:`syrac.count.core`), the output folder's layout
(:mod:`syrac.count.probe_folder`), the results file and figures (:mod:`syrac.count.results`).

A run killed at any instant and started again with the same command finishes that run, with its
tag and its probe (:mod:`syrac.count.pending_run`).

TensorFlow is imported only once the cheap checks (the request, the annotation files, the saved
probe, the checkpoint path) have passed, inside the functions that need it, so that a mistyped
option or a missing file is reported at once rather than after TensorFlow's 4-CPU-s import.
"""

import dataclasses

from syrac.common.annotations import load_count_set
from syrac.common.files import timestamp
from syrac.count.breakdowns import breakdowns
from syrac.count.checkpoint_files import checkpoint_kind
from syrac.count.metrics import count_metrics, summary_line
from syrac.count.pending_run import PendingRun
from syrac.count.probe_folder import ProbeFolder
from syrac.count.request import (  # noqa: F401 (the step's public names)
    EXPERIMENT,
    CountRequest,
    check_request,
    checkpoint_path,
)
from syrac.count.results import results_document, write_evaluation
from syrac.count.evaluated_split import EvaluatedSplit
from syrac.count.submission import write_submission


@dataclasses.dataclass
class CountOutcome:
    """What one Count step produced (the metrics and predictions are None without evaluation)."""

    folder: str
    probe: object
    metrics: dict = None
    results_path: str = None
    predictions: list = None
    counts: list = None

    @property
    def probe_folder(self):
        return ProbeFolder(self.folder).probe_path


@dataclasses.dataclass(frozen=True)
class _StepRun:
    """What the fit and the evaluation of one step share once every check has passed."""

    request: CountRequest
    encoder: object
    settings: object  # a syrac.count.core.CountSettings
    record: dict
    probe_folder: ProbeFolder
    run: PendingRun


def _fitted_probe(step, items):
    """The probe this run fits and saves (or saved before a kill interrupted it)."""
    from syrac.count.core import fit_probe

    request, encoder, probe_folder, run = step.request, step.encoder, step.probe_folder, step.run
    if run.resumed and probe_folder.has_probe():
        probe = probe_folder.load_probe()
        if probe.record.provenance.get("run_tag") == run.tag:
            print(f"Using the probe this run saved before it was interrupted: "
                  f"{probe_folder.probe_path}")
            return probe
    print(f"Extracting features of {len(items)} images of {request.train_data}")
    probe = fit_probe(encoder, items, step.settings)
    probe.record.fitted_at = timestamp()
    probe.record.provenance.update({
        "encoder_path": encoder.path, "train_data": request.train_data,
        "data_dir": request.data_dir, "experiment": request.experiment,
        "encoder": encoder.describe(), "config": step.record, "run_tag": run.tag,
    })
    archived = probe_folder.save_probe(probe)
    if archived:
        print(f"The earlier probe was moved to {archived}")
    residuals = probe.record.residuals
    print(
        f"Probe fitted on {len(items)} images of {request.train_data} "
        f"({probe.record.nonzero_weights} of {probe.feature_dim} weights non-zero; "
        f"training MAE {residuals['mae']:.2f} RMSE {residuals['rmse']:.2f}), saved to "
        f"{probe_folder.probe_path}"
    )
    return probe


def _evaluated(step, items, metas, probe):
    """Evaluate the probe patch-wise on the ``--split`` split; write results (with the official
    breakdowns its items' metadata allow) and figures."""
    from syrac.count.core import check_probe_fits, evaluate

    request, encoder, probe_folder, tag = step.request, step.encoder, step.probe_folder, step.run.tag
    check_probe_fits(probe, encoder, probe_folder.probe_path)
    print(f"Evaluating on {len(items)} {request.split} images of {request.test_data}, "
          f"N={request.N}")
    result = evaluate(encoder, probe, items, step.settings, [request.N])[request.N]
    metrics = count_metrics(result.predictions, result.counts)
    document = results_document(request, encoder, probe, probe_folder, result, metrics=metrics,
                                record=step.record, tag=tag,
                                breakdown=breakdowns(result.predictions, result.counts, metas))
    results_path = write_evaluation(probe_folder, tag, result, metrics=metrics,
                                    title=f"{request.evaluated_name}, N={result.n}",
                                    input_shape=list(step.settings.input_shape),
                                    document=document)
    print(f"Results written to {results_path}")
    return metrics, results_path, result


def _submitted(step, items, probe):
    """Count NWPU-Crowd's test images and write the file its online benchmark scores."""
    from syrac.count.core import check_probe_fits, evaluate

    request, encoder = step.request, step.encoder
    check_probe_fits(probe, encoder, step.probe_folder.probe_path)
    print(f"Counting the {len(items)} test images of {request.test_data} (labels hidden), "
          f"N={request.N}")
    unscored = [(path, 0.0) for path, _ in items]
    result = evaluate(encoder, probe, unscored, step.settings, [request.N])[request.N]
    path = write_submission(step.probe_folder.submission(step.run.tag), result.image_paths,
                            result.predictions)
    print(f"NWPU-Crowd submission: {path} ({len(items)} lines 'id count', in test.txt's "
          "order); upload it to the NWPU-Crowd online benchmark, which reports MAE, MSE and "
          "NAE overall, per scene level and per illumination")
    return path


def run_count_step(request):
    """Fit the probe, evaluate it, or both, as ``request`` asks; return a :class:`CountOutcome`."""
    check_request(request)
    params, overrides = request.params, request.overrides
    # Cheap checks first: the annotation files and the saved probe, before loading any model.
    train_items = load_count_set(request.data_dir, request.train_data) if request.fitting else None
    split = EvaluatedSplit.read(request.data_dir, request.test_data, request.split) \
        if request.evaluating else None
    submitting = split is not None and split.hidden
    probe_folder = ProbeFolder.of_checkpoint(request.checkpoint)
    if request.evaluating and not request.fitting:
        probe_folder.require_probe()
    checkpoint_kind(request.checkpoint)
    import keras

    from syrac.count.core import CountSettings
    from syrac.count.encoder_loading import load_encoder, load_hyperparams
    from syrac.count.patches import check_grid
    from syrac.count.settings import check_probe_settings, resolve_encoder_settings

    encoder = load_encoder(request.checkpoint)
    hyperparams, hyperparams_file = load_hyperparams(request.checkpoint)
    resolved, sources, notes = resolve_encoder_settings(
        params, request.params_file, overrides, encoder, hyperparams=hyperparams,
        hyperparams_file=hyperparams_file)
    for note in notes:
        print(note)
    if request.evaluating:
        check_grid(request.N, resolved["input_shape"][0], resolved["input_shape"][1])
    if request.seed is not None:
        keras.utils.set_random_seed(request.seed)
    saved_probe = None
    if not request.fitting:
        saved_probe = probe_folder.load_probe()
        check_probe_settings(saved_probe, resolved, probe_folder.probe_path)
    # Every check passed: from here on the step writes, and a kill is finished by a re-run.
    run = PendingRun.begin(probe_folder, {"args": dict(request.recorded_args), "params": params,
                                          "overrides": overrides})
    settings = CountSettings.from_params(params, **resolved)
    record = {
        "params": {**params, "probe_batch_size": settings.probe_batch_size,
                   "eval_batch_size": settings.eval_batch_size, **resolved},
        "params_file": request.params_file,
        "overrides": overrides,
        "settings_sources": sources,
        "hyperparams_file": hyperparams_file,
        "pretraining_hyperparams": hyperparams,
        "args": dict(request.recorded_args),
    }

    step = _StepRun(request, encoder, settings, record, probe_folder, run)
    if request.fitting:
        probe = _fitted_probe(step, train_items)
    else:
        probe = saved_probe
        fitted_on = probe.record.provenance.get("train_data")
        if request.train_data and fitted_on != request.train_data:
            print(f"note: --stage evaluate uses the saved probe, fitted on {fitted_on}; "
                  f"--train_data {request.train_data} is ignored")
    outcome = CountOutcome(folder=probe_folder.path, probe=probe)
    if submitting:
        outcome = CountOutcome(probe_folder.path, probe,
                               results_path=_submitted(step, split.items, probe))
    elif request.evaluating:
        metrics, results_path, result = _evaluated(step, split.items, split.metas, probe)
        outcome = CountOutcome(probe_folder.path, probe, metrics, results_path,
                               result.predictions.tolist(), result.counts.tolist())
        print(f"{summary_line(metrics)} on {request.evaluated_name}, N={request.N}")
    run.finish()
    return outcome
