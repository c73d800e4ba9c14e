"""SYRAC's "Count" step: a non-negative linear probe on a frozen encoder, evaluated patch-wise.

What it reproduces:
    the unsupervised results of the paper (method steps 4-5 of docs/DESIGN.md §1). The encoder
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

Outputs: the probe, ``results.<time>.json`` and three figures in
``<checkpoint>/noisy_synth_regression/`` (see :mod:`syrac.count.step`).
    The last line printed is the summary, e.g. ``MAE 12.34 RMSE 15.67 on DS, N=2`` (``on DS
    (val), N=2`` with ``--split val``).
"""

from syrac.common.config import load_params, parse_overrides
from syrac.count.step import EXPERIMENT, CountRequest, checkpoint_path, run_count_step

DEFAULT_PARAMS = "baseline"


def run(args):
    """Fit the probe (``--stage fit``), evaluate it (``evaluate``) or both (default).

    Returns the step's :class:`~syrac.count.step.CountOutcome`.
    """
    overrides = parse_overrides(args.set)
    params, params_file = load_params(args.params_dir, args.params or DEFAULT_PARAMS, overrides)
    request = CountRequest(
        checkpoint=checkpoint_path(args.experiment_path, args.model_path) if args.model_path
        else None,
        data_dir=args.data_dir, params=params, params_file=params_file,
        train_data=args.train_data, test_data=args.test_data, split=args.split, N=args.N,
        stage=args.stage, overrides=overrides, seed=args.seed,
        recorded_args=dict(vars(args)), experiment=EXPERIMENT,
    )
    return run_count_step(request)
