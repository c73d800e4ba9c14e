"""Start a cluster of worker processes on localhost, each with its ``TF_CONFIG``, and wait.

Ports are free ones picked by the operating system; a cluster that has not ended after
``timeout`` seconds is killed with SIGKILL (a worker whose peer died can otherwise wait in a
collective for minutes).
"""

import json
import os
import socket
import subprocess
import sys
import time


def free_ports(count):
    """``count`` TCP ports nobody listens on now."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for handle in sockets:
            handle.bind(("localhost", 0))
        return [handle.getsockname()[1] for handle in sockets]
    finally:
        for handle in sockets:
            handle.close()


def tf_config(ports, index):
    """The ``TF_CONFIG`` of worker ``index`` of a localhost cluster on ``ports``."""
    return json.dumps({"cluster": {"worker": [f"localhost:{port}" for port in ports]},
                       "task": {"type": "worker", "index": index}})


def start_workers(argv_of, workers=2, env=None, cwd=None, ports=None):
    """Start ``workers`` processes ``python argv_of(index)`` of a cluster on ``ports`` (free
    ones by default; more ports than workers leave the others' tasks never started); return
    them, not waited for."""
    ports = ports or free_ports(workers)
    processes = []
    for index in range(workers):
        environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", **(env or {}),
                           TF_CONFIG=tf_config(ports, index))
        processes.append(subprocess.Popen(
            [sys.executable, *map(str, argv_of(index))], cwd=cwd, env=environment,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    return processes


def wait_all(processes, timeout):
    """Wait for every process; SIGKILL all that still run after ``timeout`` s. Return
    ``CompletedProcess`` objects (return code -9 for a killed one)."""
    deadline = time.monotonic() + timeout
    results = []
    for process in processes:
        try:
            stdout, stderr = process.communicate(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            for other in processes:
                if other.poll() is None:
                    other.kill()
            stdout, stderr = process.communicate()
        results.append(subprocess.CompletedProcess(process.args, process.returncode,
                                                   stdout, stderr))
    return results


def run_workers(argv_of, workers=2, env=None, cwd=None, timeout=300):
    """Start a localhost cluster and wait for it (see :func:`wait_all`)."""
    return wait_all(start_workers(argv_of, workers, env, cwd), timeout)
