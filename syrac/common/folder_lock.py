"""One folder, one process: an exclusive ``flock`` on the folder's ``.lock`` file.

Used for pre-training run folders (:mod:`syrac.rank.run_folder`) and for the staging folders of
commands that write a dataset, so that a later command can tell a folder a killed process left
behind (no lock held: the operating system drops the lock of a dead process) from one a live
process is still writing.
"""

import fcntl
import os
import socket

LOCK_NAME = ".lock"


class FolderLock:
    """The exclusive claim of one process on one folder.

    Use :meth:`acquire` (non-blocking); release with
    :meth:`release` or by leaving a ``with`` block. The lock file names its holder (pid and
    host) so that a refusal can say who holds it.
    """

    def __init__(self, run_dir):
        self.run_dir = run_dir
        self.path = os.path.join(run_dir, LOCK_NAME)
        self._handle = None

    def acquire(self):
        """Take the lock if no live process holds it; return whether it was taken."""
        while True:
            handle = open(self.path, "a+", encoding="utf-8")
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                return False
            try:
                same_file = os.path.samestat(os.fstat(handle.fileno()), os.stat(self.path))
            except FileNotFoundError:
                same_file = False
            if same_file:
                break
            handle.close()  # the holder removed the file as we opened it: try the new one
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()} {socket.gethostname()}\n")
        handle.flush()
        self._handle = handle
        return True

    def moved_to(self, run_dir):
        """Follow the folder to its new name (the lock, held on the file, survives a rename)."""
        self.run_dir = run_dir
        self.path = os.path.join(run_dir, LOCK_NAME)

    def holder(self):
        """``"process PID on HOST"`` as the lock file records it, or ``"another process"``."""
        try:
            with open(self.path, encoding="utf-8") as handle:
                pid, _, host = handle.read().strip().partition(" ")
        except OSError:
            return "another process"
        return f"process {pid} on {host}" if pid else "another process"

    def release(self):
        """Remove the lock file and drop the lock (the file goes first, while still held)."""
        if self._handle is None:
            return
        try:
            os.remove(self.path)
        except FileNotFoundError:
            pass
        self._handle.close()
        self._handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.release()
