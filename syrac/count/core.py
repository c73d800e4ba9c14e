"""The Count step's two computations, used by every driver: fit a probe, evaluate it.

:func:`fit_probe` extracts the features of whole noisy synthetic images and fits the
non-negative linear probe on their prompted counts; :func:`evaluate` counts every image of a
benchmark split patch by patch at one or several grid sizes. ``finetune_wrapper.py`` (through
:mod:`syrac.count.step`), the results table and the demo all call these two, with the same
:class:`CountSettings`, so that a probe or a count means the same wherever it was made.
:func:`pair_rank_accuracy` scores how well a probe's counts order held-out ranking pairs.
"""

import dataclasses
import time

import numpy as np

from syrac.common.errors import SyracError
from syrac.count.batch_sizes import resolved_batch_sizes
from syrac.count.evaluation import evaluate_patchwise_grids
from syrac.count.features import extract_features
from syrac.count.metrics import rank_accuracy
from syrac.count.probe import CountProbe

# How the encoder sees an image: fixed between fitting a probe and evaluating it.
ENCODER_SETTINGS = ("input_shape", "preprocessing")


@dataclasses.dataclass(frozen=True)
class CountSettings:
    """How images reach the encoder, and how many share a forward pass.

    Attributes:
        input_shape: ``[H, W, 3]``: whole images, and every patch, are resized to it.
        preprocessing: the encoder's input scaling (``"resnet_v2"`` or ``"caffe"``).
        probe_batch_size: images per forward pass when extracting the probe's features.
        eval_batch_size: patches per forward pass when evaluating.
    """

    input_shape: tuple
    preprocessing: str
    probe_batch_size: int
    eval_batch_size: int

    @classmethod
    def from_params(cls, params, **resolved):
        """The settings of validated ``params`` (``auto`` batch sizes resolved for this
        device), with ``resolved`` values (e.g. the input shape a run folder imposes) first."""
        values = {**{key: params[key] for key in ENCODER_SETTINGS}, **resolved}
        batch_sizes = resolved_batch_sizes(params, values["input_shape"])
        return cls(input_shape=tuple(int(side) for side in values["input_shape"]),
                   preprocessing=values["preprocessing"], **batch_sizes)


def fit_probe(encoder, items, settings, progress=True):
    """Fit the count probe of ``encoder`` on ``items`` (``[(image path, count), ...]``).

    Returns:
        the fitted :class:`~syrac.count.probe.CountProbe`; its record holds the fit
        statistics, the settings it was fitted with and the seconds each part took.
    """
    paths = [path for path, _ in items]
    counts = np.asarray([count for _, count in items], dtype=np.float64)
    start = time.perf_counter()
    features = extract_features(encoder, paths, list(settings.input_shape),
                                settings.probe_batch_size, settings.preprocessing,
                                progress=progress)
    extraction_seconds = time.perf_counter() - start
    start = time.perf_counter()
    probe = CountProbe().fit(features, counts)
    record = probe.record
    record.input_shape = list(settings.input_shape)
    record.preprocessing = settings.preprocessing
    record.probe_batch_size = settings.probe_batch_size
    record.seconds = {"feature_extraction": extraction_seconds,
                      "nnls": time.perf_counter() - start}
    return probe


def check_probe_fits(probe, encoder, probe_path):
    """Refuse a probe whose weight count is not the encoder's feature size, naming both."""
    feature_dim = getattr(encoder, "feature_dim", None)
    if feature_dim is not None and feature_dim != probe.feature_dim:
        raise SyracError(
            f"the probe in {probe_path} expects {probe.feature_dim} features but the encoder "
            f"{getattr(encoder, 'path', encoder)} gives {feature_dim}"
        )


def evaluate(encoder, probe, items, settings, ns, *, progress=True):
    """Count every image of ``items`` at every grid size of ``ns`` (each image decoded once).

    Returns:
        ``{n: PatchwiseResult}`` (see :mod:`syrac.count.evaluation`).
    """
    return evaluate_patchwise_grids(encoder, probe, items, list(settings.input_shape), list(ns),
                                    batch_size=settings.eval_batch_size,
                                    preprocessing=settings.preprocessing, progress=progress)


def pair_rank_accuracy(encoder, probe, pairs, settings, *, progress=False):
    """How often the probe counts a pair's source (more people) above its target.

    Each image is counted whole, as the probe was fitted (features at ``settings.input_shape``,
    ``settings.probe_batch_size`` images per pass), once even when it is in several pairs.

    Args:
        pairs: ``[(source path, target path), ...]``, e.g. a ranking set's ``val`` split.

    Returns:
        the fraction of pairs ordered right, ties counting one half.
    """
    paths = sorted({path for pair in pairs for path in pair})
    features = extract_features(encoder, paths, list(settings.input_shape),
                                settings.probe_batch_size, settings.preprocessing,
                                progress=progress)
    score = dict(zip(paths, probe.predict(features)))
    return rank_accuracy([score[source] for source, _ in pairs],
                         [score[target] for _, target in pairs])
