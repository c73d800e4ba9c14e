"""Pre-training on several machines: ``tf.distribute.MultiWorkerMirroredStrategy`` from ``TF_CONFIG``.

Every worker runs the same command with ``--strategy multi_worker``; ``TF_CONFIG`` (set by
Kubernetes' TFJob in every pod, written by a few lines of a SLURM script) says who is in the
cluster and which task this process is. What this module adds to the strategy:

- :func:`read_cluster` checks ``TF_CONFIG`` before TensorFlow starts and names what is wrong;
- :func:`startup_deadline` bounds the wait for the peers: the strategy's constructor blocks,
  ignoring SIGTERM, until every task has come up, so a watchdog process ends this one with
  one line after ``--startup_timeout`` seconds;
- :func:`share_from_chief` gives every worker the chief's choice of run folder, seed and
  hyper-parameters (an all-reduce in which the other workers add zeros);
- :func:`agreed_backup` picks the backup every worker holds, so that a kill which fell between
  two workers' backups still resumes all of them at the same step;
- :func:`worker_folder`: where a worker other than the chief writes (its backups, its copy of
  the epoch log), removed when the run ends; only the chief writes the run folder.
"""

import contextlib
import dataclasses
import json
import os
import socket
import subprocess
import sys

from syrac.common.errors import SyracError

TF_CONFIG = "TF_CONFIG"
TASK_TYPES = ("chief", "worker")
WORKER_FOLDER_INFIX = ".worker-"


@dataclasses.dataclass(frozen=True)
class ClusterTask:
    """This process's place in the cluster ``TF_CONFIG`` describes.

    Attributes:
        task_type: ``"chief"`` or ``"worker"``.
        task_index: index within its type.
        worker_id: place in the strategy's collective group: the chief first (or worker 0
            when there is no chief), then the workers in order.
        addresses: every task's ``host:port``, in the order of ``worker_id``.
    """

    task_type: str
    task_index: int
    worker_id: int
    addresses: tuple

    @property
    def is_chief(self):
        """The chief writes the run folder; the others write to their worker folders."""
        return self.worker_id == 0

    @property
    def workers(self):
        return len(self.addresses)


def _fail(problem):
    raise SyracError(
        f"--strategy multi_worker: {problem} (TF_CONFIG describes the cluster as "
        '{"cluster": {"worker": ["host:port", ...]}, "task": {"type": "worker", "index": i}}; '
        "see the README, 'Beyond one machine')"
    )


def _addresses(cluster, task_type):
    addresses = cluster.get(task_type, [])
    if not isinstance(addresses, list) or not all(isinstance(a, str) for a in addresses):
        _fail(f"TF_CONFIG cluster.{task_type} must be a list of \"host:port\" strings")
    for address in addresses:
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            _fail(f"TF_CONFIG cluster.{task_type} holds {address!r}, not \"host:port\"")
    return addresses


def _endpoints(address):
    """The ``(ip, port)`` pairs ``host:port`` resolves to here; ``{(host, port)}`` when the host
    does not resolve from this machine (a name only the cluster's network knows)."""
    host, _, port = address.rpartition(":")
    host = host.strip("[]")
    try:
        infos = socket.getaddrinfo(host, int(port), proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return {(host.lower(), int(port))}
    return {(info[4][0], int(port)) for info in infos}


def _check_distinct(tasks):
    """Refuse two tasks at one address: written twice, or two names of one host and port
    (``localhost:2222`` and ``127.0.0.1:2222``); each would wait for a peer that never comes."""
    seen = {}
    for name, address in tasks:
        for endpoint in _endpoints(address):
            if endpoint in seen:
                other, other_address = seen[endpoint]
                same = "the same address" if other_address == address else \
                    f"{other_address!r}, the same host and port"
                _fail(f"TF_CONFIG {name} is {address!r} and {other} is {same}; every task "
                      "needs an address of its own")
            seen[endpoint] = (name, address)


def read_cluster(environ=None):
    """Parse and check ``TF_CONFIG``; return this process's :class:`ClusterTask`.

    Raises:
        SyracError: naming TF_CONFIG and what is wrong in it, when it is missing, not JSON,
            or names task types, indices or addresses that do not fit together.
    """
    environ = os.environ if environ is None else environ
    text = environ.get(TF_CONFIG, "").strip()
    if not text:
        _fail("the TF_CONFIG environment variable is not set")
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:
        _fail(f"TF_CONFIG is not valid JSON ({error})")
    if not isinstance(config, dict) or not isinstance(config.get("cluster"), dict) \
            or not isinstance(config.get("task"), dict):
        _fail("TF_CONFIG must be a JSON object with a \"cluster\" object and a \"task\" object")
    cluster, task = config["cluster"], config["task"]
    unused = sorted(set(cluster) - set(TASK_TYPES))
    if unused:
        _fail(f"TF_CONFIG cluster has task type(s) {', '.join(unused)}; only chief and "
              "worker take part in synchronous training")
    chiefs, workers = _addresses(cluster, "chief"), _addresses(cluster, "worker")
    if len(chiefs) > 1:
        _fail(f"TF_CONFIG cluster.chief lists {len(chiefs)} tasks; there is at most one chief")
    if not chiefs + workers:
        _fail("TF_CONFIG cluster lists no worker")
    _check_distinct([(f"cluster.chief[{i}]", a) for i, a in enumerate(chiefs)]
                    + [(f"cluster.worker[{i}]", a) for i, a in enumerate(workers)])
    task_type, index = task.get("type"), task.get("index")
    if task_type not in TASK_TYPES or task_type not in cluster:
        _fail(f"TF_CONFIG task.type is {task_type!r}, not one of the cluster's task types "
              f"({', '.join(t for t in TASK_TYPES if t in cluster)})")
    if isinstance(index, bool) or not isinstance(index, int) \
            or not 0 <= index < len(cluster[task_type]):
        _fail(f"TF_CONFIG task.index is {index!r}; cluster.{task_type} has "
              f"{len(cluster[task_type])} task(s), indexed from 0")
    worker_id = index if task_type == "chief" else len(chiefs) + index
    return ClusterTask(task_type, index, worker_id, tuple(chiefs + workers))


def create_strategy():
    """``MultiWorkerMirroredStrategy`` from ``TF_CONFIG``: the process's first TensorFlow op.

    The strategy configures collective ops at start-up, so nothing may have run eagerly before
    ("Collective ops must be configured at program startup").
    """
    import tensorflow as tf

    return tf.distribute.MultiWorkerMirroredStrategy()


_WATCHDOG = """
import os, select, signal, sys
parent, seconds, message = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
ready, _, _ = select.select([sys.stdin], [], [], seconds)
if not ready:
    sys.stderr.write(message + "\\n")
    sys.stderr.flush()
    os.kill(parent, signal.SIGKILL)
"""


@contextlib.contextmanager
def startup_deadline(seconds, cluster, program="train_wrapper.py"):
    """End the process with one line if the block has not ended within ``seconds``.

    The strategy's constructor and the first collective wait for every peer without
    returning to Python, the interpreter lock held: no thread or signal handler of this
    process runs meanwhile, and SIGTERM is not acted on. So a watchdog process does the
    waiting: it prints the message and SIGKILLs this one (exit status 137) unless the block
    ends first and closes the pipe it waits on.
    """
    message = (
        f"{program}: error: the cluster in TF_CONFIG did not come up within {seconds:g} s "
        f"(this is task {cluster.task_type}:{cluster.task_index}, one of {cluster.workers}: "
        f"{', '.join(cluster.addresses)}); start every task with the same TF_CONFIG cluster, "
        "check that the hosts reach each other's ports, or raise --startup_timeout"
    )
    watchdog = subprocess.Popen(
        [sys.executable, "-c", _WATCHDOG, str(os.getpid()), str(seconds), message],
        stdin=subprocess.PIPE,
    )
    try:
        yield
    finally:
        watchdog.stdin.close()
        watchdog.wait()


class LostPeer(SyracError):
    """Another worker stopped or became unreachable mid-run; relaunching resumes the run."""

    exit_code = 75  # EX_TEMPFAIL, as for a pre-emption: run again to resume


@contextlib.contextmanager
def lost_peers_reported(cluster):
    """Turn the errors a collective raises when a peer is gone into one :class:`LostPeer` line."""
    if cluster is None:
        yield
        return
    import tensorflow as tf

    try:
        yield
    except (tf.errors.UnavailableError, tf.errors.CancelledError,
            tf.errors.DeadlineExceededError, tf.errors.AbortedError) as error:
        raise LostPeer(
            f"worker {cluster.worker_id} lost contact with the other workers "
            f"({type(error).__name__}: {_cause(error.message or str(error))}); when every "
            "worker has stopped, launch them all again with the same command to resume from "
            "their last backup"
        ) from None


def _cause(message):
    """The line of a collective's error that says what happened, e.g. which task stopped."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    for index, line in enumerate(lines):
        if "aborted by" in line or "unhealthy" in line:
            tasks = [other for other in lines[index + 1:index + 4] if other.startswith("/job:")]
            return " ".join([line.rsplit("Error reported from", 1)[-1].strip(), *tasks])[:240]
    useful = [line for line in lines if line != "Graph execution error:"]
    return (useful or ["no detail"])[0][:240]


def in_multi_worker_mode(strategy):
    """Whether ``strategy`` spans more than one worker process."""
    extended = getattr(strategy, "extended", None)
    check = getattr(extended, "_in_multi_worker_mode", None)
    return bool(check and check())


def _all_sum(strategy, values):
    """Sum ``values`` (int64, one vector per worker) over the workers; every worker gets it."""
    import numpy as np
    import tensorflow as tf

    local = tf.constant(np.asarray(values, dtype=np.int64))
    per_worker = len(strategy.extended.worker_devices)
    contribution = strategy.experimental_distribute_values_from_function(
        lambda context: local if context.replica_id_in_sync_group % per_worker == 0
        else tf.zeros_like(local)
    )
    return strategy.reduce(tf.distribute.ReduceOp.SUM, contribution, axis=None).numpy()


def share_from_chief(strategy, cluster, document=None):
    """Return the chief's JSON-able ``document`` on every worker (the others pass None)."""
    import numpy as np

    payload = json.dumps(document).encode("utf-8") if cluster.is_chief else b""
    (length,) = _all_sum(strategy, [len(payload)])
    data = np.frombuffer(payload, np.uint8) if cluster.is_chief else np.zeros(length, np.uint8)
    total = _all_sum(strategy, data.astype(np.int64))
    return json.loads(total.astype(np.uint8).tobytes().decode("utf-8"))


def barrier(strategy):
    """Wait until every worker has come here."""
    _all_sum(strategy, [1])


def agreed_backup(strategy, cluster, candidates):
    """The one backup every worker holds, as this worker's record of it (None: start afresh).

    Args:
        candidates: this worker's backups, newest first (two are kept: a kill can fall
            between the workers' writes of one backup, never further apart, since the next
            step waits for everybody).
    """
    import numpy as np

    steps = [record["global_step"] for record in candidates][:2]
    steps += [-1] * (2 - len(steps))
    # One row per worker, filled by that worker alone; +1 so that "no backup" is 0.
    mine = np.zeros((cluster.workers, 2), np.int64)
    mine[cluster.worker_id] = np.asarray(steps) + 1
    table = _all_sum(strategy, mine.ravel()).reshape(cluster.workers, 2) - 1
    return common_backup([[int(step) for step in row if step >= 0] for row in table], candidates)


def common_backup(steps_by_worker, candidates):
    """Of ``candidates`` (this worker's backup records), the latest whose step every worker
    holds; None (train from the first step) when there is none.

    Every worker can always start again from the first step, so a worker killed before its
    first backup sends all of them back there.
    """
    held = [set(steps) for steps in steps_by_worker]
    common = set.intersection(*held) if held else set()
    if not common:
        if any(held):
            print("The workers hold no backup in common "
                  f"({'; '.join(f'worker {i}: steps {sorted(h)}' for i, h in enumerate(held))}); "
                  "training again from the first step.")
        return None
    step = max(common)
    return next(record for record in candidates if record["global_step"] == step)


def worker_folder(run_dir, worker_id):
    """Where worker ``worker_id`` (not the chief) of the run in ``run_dir`` writes.

    A hidden sibling of the run folder, ``.<run name>.worker-<id>``: on the same file system
    (so a relaunched worker finds its backup), outside the run folder the chief alone writes.
    """
    parent, name = os.path.split(os.path.normpath(run_dir))
    return os.path.join(parent, f".{name}{WORKER_FOLDER_INFIX}{worker_id}")


def worker_folders(run_dir):
    """The worker folders that exist for the run in ``run_dir``."""
    parent, name = os.path.split(os.path.normpath(run_dir))
    prefix = f".{name}{WORKER_FOLDER_INFIX}"
    if not os.path.isdir(parent):
        return []
    return sorted(os.path.join(parent, entry) for entry in os.listdir(parent)
                  if entry.startswith(prefix) and entry[len(prefix):].isdigit())
