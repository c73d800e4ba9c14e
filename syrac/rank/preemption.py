"""Pre-emption notices: SIGTERM or SIGUSR1 make a training run back up at once and exit 75.

Clusters announce the end of a job before they kill it: Kubernetes sends SIGTERM and waits its
grace period, SLURM sends SIGTERM at the time limit and, with ``#SBATCH --signal=USR1@300``,
SIGUSR1 five minutes before. While :func:`preemption_notices` is active, either signal only
raises a flag; :class:`StopOnNotice` looks at it after every training batch, writes a backup at
that batch (the same backup the ``backup_every_n_batches`` cadence writes) and stops the run
with :class:`Preempted`, which the command reports in one line and exit code
:data:`PREEMPTED_EXIT_CODE` (75, ``EX_TEMPFAIL``: "try again"). Run the same command again
and it resumes at the next batch. A notice that arrives during an epoch's last batch or its
validation lets the epoch end, be logged and be backed up first.
"""

import contextlib
import signal

import keras

from syrac.common.errors import SyracError

PREEMPTED_EXIT_CODE = 75
NOTICE_SIGNALS = (signal.SIGTERM, signal.SIGUSR1)


class Preempted(SyracError):
    """Training stopped on a pre-emption notice, after writing a backup."""

    exit_code = PREEMPTED_EXIT_CODE


class _Notice:
    received = None


@contextlib.contextmanager
def preemption_notices():
    """Within the block, SIGTERM and SIGUSR1 set a flag instead of ending the process."""
    _Notice.received = None

    def note(number, frame):
        _Notice.received = signal.Signals(number).name

    previous = {number: signal.signal(number, note) for number in NOTICE_SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def notice_received():
    """The name of the notice signal received in the current block, or None."""
    return _Notice.received


class StopOnNotice(keras.callbacks.Callback):
    """After a notice: back up at the batch just trained (or let the epoch end), then stop.

    Args:
        backup: the run's :class:`syrac.rank.callbacks.TrainingBackup` (it knows the epoch,
            the batches already done and where backups go).
        back_up: False for one of several workers: it stops after the batch without a backup
            of its own, and the run resumes from the last backup all workers made.
    """

    def __init__(self, backup, back_up=True):
        super().__init__()
        self.backup = backup
        self.back_up = back_up

    def on_train_batch_end(self, batch, logs=None):
        received = notice_received()
        if received is None:
            return
        done = self.backup.first_batch + batch + 1
        if done >= self.backup.steps_per_epoch:
            return  # the epoch's end comes next and is backed up there
        if not self.back_up:
            raise Preempted(f"stopped by {received} after batch {done} of epoch "
                            f"{self.backup.epoch + 1}; run the same command on every worker "
                            "again to resume from the workers' last backup")
        self.backup.save(self.backup.epoch, done)
        raise Preempted(_message(received, self.backup.epoch, done))

    def on_epoch_end(self, epoch, logs=None):
        received = notice_received()
        if received is not None:
            raise Preempted(_message(received, epoch + 1, 0))


def _message(received, epoch, batch):
    where = f"after batch {batch} of epoch {epoch + 1}" if batch else f"after epoch {epoch}"
    return (f"stopped by {received}, backed up {where}; run the same command again to "
            "resume")
