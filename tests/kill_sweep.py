"""The kill sweep: run a command, SIGKILL it at many instants, run it again each time.

:func:`kill_sweep` starts ``first`` and kills it; then, until the work is done, starts
``again()`` and kills that too, each time at a later instant, and finally lets ``again()`` run
to its end. The instants are spread over the run and tied to what the command writes: the k-th
kill falls right after the k-th change of the watched output folder since that process started
(a file created, grown, renamed or removed), or a moment after it, mid-way through the next
piece of work; the first falls before any file changed, while the process is still starting.
A later kill waits for a later change, so each process gets further than the one before; a
command whose work is finished before the last kill starts again from a clean folder
(``restart``). The caller then compares the folder with an unbroken run's.
"""

import dataclasses
import os
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


def run_and_kill(argv, watch, change, delay, env=None, cwd=None, timeout=300):
    """Run ``argv``; SIGKILL it ``delay`` s after the ``change``-th change of ``watch`` (0: as
    soon as it runs). Return a :class:`Kill`, or the finished process's
    ``CompletedProcess`` if it ended first."""
    process = _start(argv, env, cwd)
    deadline = time.monotonic() + timeout
    seen, last = 0, ""
    before = folder_snapshot(watch)
    while seen < change:
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
    if process.poll() is not None:
        stdout, stderr = process.communicate()
        return subprocess.CompletedProcess(argv, process.returncode, stdout, stderr)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    return Kill(change, delay, last)


def _completed(outcome, finished=None):
    if isinstance(outcome, Kill):
        return bool(finished and finished())
    if outcome.returncode != 0:
        raise AssertionError(f"{outcome.args} failed with exit code {outcome.returncode}:\n"
                             f"{outcome.stderr[-3000:]}")
    return True


def kill_sweep(first, again, watch, kills=10, env=None, cwd=None, delays=(0.0, 0.15),
               first_delay=0.5, restart=None, finished=None, schedule=None):
    """Kill ``first`` and its re-runs at ``kills`` instants, then run ``again()`` to its end.

    Args:
        first: the command's argv (after ``python``).
        again: ``again() -> argv`` of the re-run, decided after each kill (e.g. ``--resume``
            of the run folder the killed process made).
        watch: the output folder whose changes time the kills.
        kills: how many kills to make.
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
