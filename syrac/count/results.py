"""One evaluation's results file and figures, written in the order a resumed run relies on.

The figures come first and the results file last: a results file says its evaluation is
complete (:mod:`syrac.count.pending_run`). The file holds per-image paths, true and predicted
counts, per-patch predictions, ``mae``, ``mse`` (no root, as the authors), ``rmse``, ``r2``, N,
the encoder, the datasets and the resolved configuration.
"""

from syrac.common.files import write_new_json
from syrac.count.metrics import json_ready

METRIC_NOTES = ("mse is the mean squared error without root (the authors' 'mse'); rmse is its "
                "root, the crowd-counting literature's 'MSE'; r2 is null when all true counts "
                "are equal")


def results_document(request, encoder, probe, probe_folder, result, *, metrics, record, tag,
                     breakdown=None):
    """The JSON document of one evaluation (``breakdown``: :func:`syrac.count.breakdowns.
    breakdowns` of it)."""
    return {
        "created": tag,
        "experiment": request.experiment,
        "encoder_path": encoder.path,
        "encoder": encoder.describe(),
        "train_data": probe.record.provenance.get("train_data"),
        "test_data": request.test_data,
        "test_split": request.split,
        "data_dir": request.data_dir,
        "N": result.n,
        "patches_per_image": result.n * result.n,
        **json_ready(metrics),
        "metric_notes": METRIC_NOTES,
        "breakdown": breakdown,
        "image_paths": result.image_paths,
        "counts": result.counts.tolist(),
        "predictions": result.predictions.tolist(),
        "patch_predictions": result.patch_predictions.tolist(),
        "probe": {
            "folder": probe_folder.probe_path,
            "fitted_at": probe.record.fitted_at,
            "n_samples": probe.record.n_samples,
            "residuals": probe.record.residuals,
        },
        "config": record,
        "seconds": result.seconds,
        "figures": probe_folder.figures(tag),
    }


def write_evaluation(probe_folder, tag, result, *, metrics, title, input_shape, document):
    """Draw the three figures, then write the results file; return its path."""
    from syrac.count import figures  # matplotlib and TensorFlow: not for the step's checks

    paths = probe_folder.figures(tag)
    figures.error_by_count_range(result.predictions, result.counts, paths["error_by_count"],
                                 title=title)
    figures.predicted_vs_true(result.predictions, result.counts, paths["predicted_vs_true"],
                              mae=metrics["mae"], rmse=metrics["rmse"], title=title)
    figures.patch_grids(result.image_paths, input_shape, result.n, result.patch_predictions,
                        result.counts, path=paths["patch_grids"])
    results_path = probe_folder.results(tag)
    write_new_json(results_path, document, indent=1, sort_keys=False, allow_nan=False)
    return results_path
