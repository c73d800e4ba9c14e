"""A Count step killed at any instant and run again finishes the run it interrupted.

Each run of the step writes several files into its output folder: a probe (``probe/``), three
figures and a results file sharing one timestamp tag. While it runs, a journal
(``OUT/.pending.json``) names the command (its options and parameters) and the tag. Run again
with the same command, the step finds the journal and finishes that run: the same tag, the probe
that run had already saved (it is saved whole, by a rename), the figures and the results file
(last) written again from the same numbers. The folder then holds what one uninterrupted run leaves. A different command
finding a journal starts its own run and first removes what the interrupted one left half done
(figures without their results file). The journal is removed when the run ends.
"""

import glob
import json
import os
import shutil

from syrac.common.files import read_json, remove_stale_temporaries, write_json_atomic
from syrac.count.probe_folder import PROBE_STAGING_PREFIX


class PendingRun:
    """The journal of one Count step run: its tag, and whether it resumes a killed run."""

    def __init__(self, probe_folder, tag, resumed):
        self.probe_folder, self.tag, self.resumed = probe_folder, tag, resumed

    @classmethod
    def begin(cls, probe_folder, command):
        """Resume the interrupted run of ``command`` in ``probe_folder``, or journal a new one.

        Args:
            probe_folder: the step's :class:`~syrac.count.probe_folder.ProbeFolder` (created
                if needed).
            command: what identifies the command (options and parameters; JSON-ready).
        """
        folder = probe_folder.path
        os.makedirs(folder, exist_ok=True)
        _remove_leftovers(folder)
        pending = read_json(probe_folder.journal, default=None)
        command = json.loads(json.dumps(command))
        if isinstance(pending, dict) and pending.get("command") == command:
            _remove_outputs(folder, pending["tag"])  # written again, from the same numbers
            return cls(probe_folder, pending["tag"], resumed=True)
        if isinstance(pending, dict) and isinstance(pending.get("tag"), str):
            if not os.path.exists(probe_folder.results(pending["tag"])):
                _remove_outputs(folder, pending["tag"])
        tag = probe_folder.new_tag()
        write_json_atomic(probe_folder.journal, {"command": command, "tag": tag})
        return cls(probe_folder, tag, resumed=False)

    def finish(self):
        """The run ended: remove the journal."""
        try:
            os.remove(self.probe_folder.journal)
        except FileNotFoundError:
            pass


def _remove_leftovers(folder):
    """Probe folders a kill left half saved, and temporary files of killed writes."""
    for staging in glob.glob(os.path.join(folder, PROBE_STAGING_PREFIX + "*.tmp")):
        shutil.rmtree(staging, ignore_errors=True)
    for leftover in glob.glob(os.path.join(folder, "**", "*.tmp"), recursive=True):
        remove_stale_temporaries(leftover.rsplit(".", 2)[0])


def _remove_outputs(folder, tag):
    """The figures and results file of the run tagged ``tag``."""
    for path in glob.glob(os.path.join(folder, f"*.{glob.escape(tag)}.png")) + glob.glob(
            os.path.join(folder, f"results.{glob.escape(tag)}.json")):
        os.remove(path)
