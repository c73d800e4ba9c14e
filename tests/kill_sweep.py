"""The kill sweep: run a command, SIGKILL it at many instants, run it again each time.

:func:`kill_sweep` starts ``first`` and kills it while it is still starting, before any file
changed; then starts ``again()`` and kills it right after (or a moment after) a write of a kind
no earlier kill followed, and so on, until a re-run ends without writing anything new: every
distinct write of the command has had a kill after it, as few kills as that takes. The kind of
a write is the path it changed in the watched folder with its numbers folded (``step_#.h5``,
``results.#.json``; a temporary file is ``<temporary>`` in its folder), so one kill covers
every epoch's checkpoint or every image's file. Each re-run skips the kinds already covered,
so it gets further than the one before. ``kills=K`` instead kills at the first K changes in
turn (k-th re-run after its k-th change), restarting a finished command from a clean folder
(``restart``). The caller then compares the folder with an unbroken run's.
"""

import dataclasses
import os
import re
import signal
import subprocess
import sys
import time

POLL_SECONDS = 0.004


@dataclasses.dataclass
class Kill:
    """One kill: the change it followed (0: none), the delay after it, what had changed."""

    change: int
    delay: float
    last_change: str

    @property
    def kinds(self):
        return write_kinds(self.last_change)


def covered_kinds(kills):
    """Every kind of write some kill of ``kills`` followed."""
    return set().union(*(kill.kinds for kill in kills))


def write_kinds(change):
    """The kinds of write in a change (``a, b``: the paths changed): each path with its
    numbers folded to ``#``, a temporary file (``*.tmp`` anywhere in it) as ``<temporary>``."""
    kinds = set()
    for path in filter(None, change.split(", ")):
        # A hidden staging folder's random suffix (tempfile's 8 characters) is no kind of its own.
        path = re.sub(r"(^|/)(\.[^/]*?[-.])[a-z0-9_]{8}(?=/|$)", r"\1\2<random>", path)
        folder, name = os.path.split(path)
        folder = re.sub(r"\d+", "#", folder)
        if ".tmp" in path:
            folder = re.sub(r"[^/]*\.tmp[^/]*", "<temporary>", folder)
            name = "<temporary>" if ".tmp" in name else re.sub(r"\d+", "#", name)
        else:
            name = re.sub(r"\d+", "#", name)
        kinds.add(os.path.join(folder, name))
    return kinds


def folder_snapshot(folder):
    """``{relative path: (size, mtime_ns)}`` of every file under ``folder``, hidden ones too."""
    snapshot = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            try:
                stat = os.stat(path)
            except FileNotFoundError:
                continue
            snapshot[os.path.relpath(path, folder)] = (stat.st_size, stat.st_mtime_ns)
    return snapshot


def _difference(before, after):
    changed = sorted(set(before) ^ set(after) | {
        path for path in set(before) & set(after) if before[path] != after[path]})
    return ", ".join(changed)


def _start(argv, env, cwd):
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", **(env or {}))
    return subprocess.Popen([sys.executable, *map(str, argv)], cwd=cwd, env=environment,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run_and_kill(argv, watch, change, delay, env=None, cwd=None, timeout=300, covered=None):
    """Run ``argv``; SIGKILL it ``delay`` s after the ``change``-th change of ``watch`` (0: as
    soon as it runs), or, with ``covered`` (a set of write kinds, updated), after the first
    change holding a kind not in it. Return a :class:`Kill`, or the finished process's
    ``CompletedProcess`` if it ended first."""
    process = _start(argv, env, cwd)
    deadline = time.monotonic() + timeout
    seen, last = 0, ""
    before = folder_snapshot(watch)

    def waiting():
        if covered is None:
            return seen < change
        return seen == 0 or write_kinds(last) <= covered

    while waiting():
        if process.poll() is not None:
            stdout, stderr = process.communicate()
            return subprocess.CompletedProcess(argv, process.returncode, stdout, stderr)
        if time.monotonic() > deadline:
            process.kill()
            raise TimeoutError(f"{argv} wrote no change {change} in {timeout} s")
        now = folder_snapshot(watch)
        if now != before:
            seen, last, before = seen + 1, _difference(before, now), now
        else:
            time.sleep(POLL_SECONDS)
    time.sleep(delay)
    if covered is not None:
        covered |= write_kinds(last)
    if process.poll() is not None:
        stdout, stderr = process.communicate()
        return subprocess.CompletedProcess(argv, process.returncode, stdout, stderr)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    return Kill(seen, delay, last)


def _completed(outcome, finished=None):
    if isinstance(outcome, Kill):
        return bool(finished and finished())
    if outcome.returncode != 0:
        raise AssertionError(f"{outcome.args} failed with exit code {outcome.returncode}:\n"
                             f"{outcome.stderr[-3000:]}")
    return True


def kill_sweep(first, again, watch, kills=None, env=None, cwd=None, delays=(0.0, 0.15),
               first_delay=0.5, restart=None, finished=None, schedule=None):
    """Kill ``first`` and its re-runs after every distinct write (or at ``kills`` instants),
    then run ``again()`` to its end.

    Args:
        first: the command's argv (after ``python``).
        again: ``again() -> argv`` of the re-run, decided after each kill (e.g. ``--resume``
            of the run folder the killed process made).
        watch: the output folder whose changes time the kills.
        kills: None (default): one kill after each kind of write (see the module docstring);
            a number: that many kills, the k-th re-run after its k-th change.
        delays: seconds after the change, taken in turn (0: right after it).
        first_delay: seconds after start for the first kill, before any change.
        restart: for a command whose work can end before ``kills`` kills: called when a
            re-run finished it (check the folder, then clear it); the sweep then starts
            ``first`` again and counts changes from 1. Without it the sweep stops there.
        schedule: the change after which each re-run is killed, in turn (default 1, 2, 3...:
            each re-run gets one change further); a restart resets the default to 1.
        finished: for a command that cannot tell a finished run from a killed one when run
            again (the Count step starts a new evaluation): ``finished()`` says whether the
            killed process had finished its work, its last file written.

    Returns:
        ``(kills made, the last process's CompletedProcess)``.
    """
    os.makedirs(watch, exist_ok=True)
    if kills is None:
        return _distinct_write_sweep(first, again, watch, env, cwd, delays, first_delay,
                                     finished)
    made = []
    outcome = run_and_kill(first, watch, 0, first_delay, env, cwd)
    change, episode, attempt = 0, 0, 0
    while True:
        if isinstance(outcome, Kill):
            made.append(outcome)
        if len(made) >= kills:
            break
        change += 1
        argv = again()
        if _completed(outcome, finished):
            if restart is None:
                break
            restart()
            change, episode, argv = 1, episode + 1, first
        if schedule is not None:
            change = schedule[attempt % len(schedule)]
        attempt += 1
        delay = delays[(attempt + episode) % len(delays)]
        outcome = run_and_kill(argv, watch, change, delay, env, cwd)
    if _completed(outcome, finished):
        return made, outcome
    return made, subprocess.run([sys.executable, *map(str, again())], cwd=cwd,
                                env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", **(env or {})),
                                capture_output=True, text=True, timeout=600)


MAX_KINDS = 60  # a command with more kinds of write than this folds a name it should not


def _distinct_write_sweep(first, again, watch, env, cwd, delays, first_delay, finished):
    """:func:`kill_sweep` with one kill after each kind of write."""
    covered, made = set(), []
    outcome = run_and_kill(first, watch, 0, first_delay, env, cwd)
    while isinstance(outcome, Kill):
        made.append(outcome)
        if len(made) > MAX_KINDS:
            raise AssertionError(f"more than {MAX_KINDS} kinds of write: {sorted(covered)}")
        if finished and finished():
            return made, outcome  # killed after its last write: nothing left to run
        delay = delays[len(made) % len(delays)]
        outcome = run_and_kill(again(), watch, 0, delay, env, cwd, covered=covered)
    _completed(outcome)
    return made, outcome
