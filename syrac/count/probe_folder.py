"""The folder of one encoder's count probe: where the probe, its archive, results and figures go.

``<checkpoint>/noisy_synth_regression/`` for a TF SavedModel folder (as the authors); for a
``.keras`` checkpoint ``X/best_model_05.keras`` it is ``X/best_model_05/noisy_synth_regression/``
(one folder per checkpoint). Inside:

- ``probe/`` (``weights.npy`` + ``probe.json``): the current probe; a refit first moves it to
  ``previous_probes/<its fitted_at>/``;
- ``results.<tag>.json`` and the figures ``<name>.<tag>.png`` of one evaluation, the tag a
  timestamp (``-1``, ``-2`` ... added rather than overwrite);
- ``.pending.json``: the journal of a run not finished yet (:mod:`syrac.count.pending_run`).

Every module that reads or writes these files asks a :class:`ProbeFolder` for the names.
"""

import os
import shutil
import tempfile

from syrac.common.errors import SyracError
from syrac.common.files import read_json, timestamp, unique_path
from syrac.count.probe import DESCRIPTION_FILE, CountProbe

OUTPUT_FOLDER = "noisy_synth_regression"
PROBE_FOLDER = "probe"
PREVIOUS_PROBES_FOLDER = "previous_probes"
PROBE_STAGING_PREFIX = ".probe-"
JOURNAL = ".pending.json"
FIGURE_NAMES = ("error_by_count", "predicted_vs_true", "patch_grids")


class ProbeFolder:
    """The count-probe folder at ``path`` (see the module docstring for its layout)."""

    def __init__(self, path):
        self.path = os.fspath(path)

    @classmethod
    def of_checkpoint(cls, checkpoint):
        """The folder of the probe fitted for the encoder ``checkpoint``."""
        base = os.fspath(checkpoint).rstrip("/\\")
        if base.endswith(".keras"):
            base = base[: -len(".keras")]
        return cls(os.path.join(base, OUTPUT_FOLDER))

    def __repr__(self):
        return f"ProbeFolder({self.path!r})"

    @property
    def journal(self):
        return os.path.join(self.path, JOURNAL)

    @property
    def probe_path(self):
        return os.path.join(self.path, PROBE_FOLDER)

    def has_probe(self):
        return os.path.isfile(os.path.join(self.probe_path, DESCRIPTION_FILE))

    def results(self, tag):
        return os.path.join(self.path, f"results.{tag}.json")

    def submission(self, tag):
        """The NWPU-Crowd submission file of the test-set count tagged ``tag``."""
        return os.path.join(self.path, f"nwpu_test.{tag}.txt")

    def figures(self, tag):
        """``{name: path}`` of the three figures of the evaluation tagged ``tag``."""
        return {name: os.path.join(self.path, f"{name}.{tag}.png") for name in FIGURE_NAMES}

    def outputs(self, tag):
        """Every file an evaluation tagged ``tag`` writes (results file last)."""
        return [*self.figures(tag).values(), self.results(tag)]

    def new_tag(self):
        """A timestamp (plus ``-1``, ``-2``... if needed) that no results or figure file uses."""
        stamp = timestamp()
        tag, suffix = stamp, 0
        while any(os.path.exists(path) for path in self.outputs(tag)):
            suffix += 1
            tag = f"{stamp}-{suffix}"
        return tag

    def require_probe(self, what="this encoder"):
        """The probe folder; fail, naming it, when no probe was fitted yet."""
        if not os.path.isdir(self.probe_path):
            raise SyracError(
                f"no probe has been fitted for {what} ({self.probe_path} does not exist); "
                "run with --stage fit or --stage both first"
            )
        return self.probe_path

    def load_probe(self):
        return CountProbe.load(self.require_probe())

    def archive_probe(self):
        """Move the current probe, if any, into ``previous_probes/<fitted_at>``; return where."""
        current = self.probe_path
        if not os.path.exists(current):
            return None
        try:
            description = read_json(os.path.join(current, DESCRIPTION_FILE), default={})
        except SyracError:
            description = {}
        stamp = description.get("fitted_at") if isinstance(description, dict) else None
        if not isinstance(stamp, str) or not stamp or os.sep in stamp:
            stamp = timestamp(os.path.getmtime(current))
        destination = unique_path(os.path.join(self.path, PREVIOUS_PROBES_FOLDER, stamp))
        os.makedirs(os.path.dirname(destination), exist_ok=True)
        shutil.move(current, destination)
        return destination

    def save_probe(self, probe):
        """Archive the current probe, then write ``probe`` in its place whole or not at all."""
        archived = self.archive_probe()
        os.makedirs(self.path, exist_ok=True)
        staging = tempfile.mkdtemp(prefix=PROBE_STAGING_PREFIX, suffix=".tmp", dir=self.path)
        probe.save(staging)
        os.rename(staging, self.probe_path)
        return archived
