"""What one pre-training run is asked to do: the Rank step's input, built by every driver.

``train_wrapper.py`` builds a :class:`PretrainRequest` from its command line
(:meth:`PretrainRequest.from_options`); the results table and the demo build one directly. The
fields are the options of ``train_wrapper.py`` under the same names, because a run folder's
``args.json`` records them as the command gave them: a run started by the table and one started
from the command line with the same values are the same run, and resume each other.
"""

import dataclasses

from syrac.common.errors import SyracError

DEFAULT_STARTUP_TIMEOUT = 300  # seconds a multi-worker run waits for its peers at start-up
STRATEGIES = ("default", "mirrored", "multi_worker")
REQUIRED = ("dataset", "data_dir", "experiment_name")


@dataclasses.dataclass
class PretrainRequest:
    """One pre-training run: the data, the parameters, the run folder's place, the strategy.

    Attributes:
        experiment: the experiment name recorded with the run (``training/baseline``).
        index: repeat index of the run (a folder level of the run path).
        dataset: ranking-set folder name inside ``data_dir``.
        data_dir: the folder holding ``<dataset>/annotations.json``.
        experiment_dir: where run folders go (``RUNS``).
        experiment_name: the run folders' name (``NAME`` in ``RUNS/NAME/DS/INDEX/<time>``).
        params_dir: the folder holding the parameter sets.
        patience: early-stopping patience on ``val_loss``, in epochs.
        filter_classes: pair types (``info.type``) left out.
        params: the parameter set's name (None: the experiment's default).
        set: ``key=value`` overrides of the parameter set, as typed.
        seed: the run's seed (None: drawn and recorded).
        resume: an interrupted run folder to continue, or None.
        new_run: start a new run folder even if an interrupted one matches.
        strategy: ``"default"``, ``"mirrored"`` or ``"multi_worker"`` (from ``TF_CONFIG``).
        startup_timeout: seconds a multi-worker run waits for its peers.
        run_eagerly: run the train and test steps eagerly (debugging).
    """

    experiment: str = "training/baseline"
    index: int = 0
    dataset: str = None
    data_dir: str = None
    experiment_dir: str = "runs"
    experiment_name: str = None
    params_dir: str = "./config/"
    patience: int = 10
    filter_classes: list = dataclasses.field(default_factory=list)
    params: str = None
    set: list = dataclasses.field(default_factory=list)
    seed: int = None
    resume: str = None
    new_run: bool = False
    strategy: str = "default"
    startup_timeout: float = DEFAULT_STARTUP_TIMEOUT
    run_eagerly: bool = False

    @classmethod
    def from_options(cls, options):
        """The request of a parsed ``train_wrapper.py`` command line (an argparse namespace)."""
        return cls(**vars(options))

    def recorded(self):
        """The options as ``args.json`` records them (a plain dict, lists copied)."""
        return dataclasses.asdict(self)

    def check(self):
        """Refuse a request that cannot start a run, naming the option (before any work)."""
        if self.strategy not in STRATEGIES:
            raise SyracError(f"--strategy must be one of {list(STRATEGIES)}. "
                             f"Received: {self.strategy!r}")
        if self.resume:
            return
        missing = [f"--{name}" for name in REQUIRED if not getattr(self, name)]
        if missing:
            raise SyracError(f"missing required option(s): {', '.join(missing)}")
        if self.index < 0:
            raise SyracError(f"--index must be >= 0. Received: {self.index}")
        if self.patience < 0:
            raise SyracError(f"--patience must be >= 0. Received: {self.patience}")
