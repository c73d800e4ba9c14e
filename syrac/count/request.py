"""What one Count step is asked to do: :class:`CountRequest`, checked before any work.

``finetune_wrapper.py`` builds the request from the authors' options; the demo builds it
directly. :func:`check_request` refuses missing or nonsense settings by the option's name.
"""

import dataclasses
import os

from syrac.common.errors import SyracError

EXPERIMENT = "finetuning/unsupervised/noisy_synth_regress"
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

    @property
    def evaluated_name(self):
        """``DS`` for the test split (the authors' summary line), ``DS (val)`` for another."""
        if self.split == "test":
            return self.test_data
        return f"{self.test_data} ({self.split})"


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


def checkpoint_path(experiment_path, model_path):
    """``--model_path`` is relative to ``--experiment_path`` (an absolute path is kept)."""
    return os.path.join(experiment_path or "", model_path)
