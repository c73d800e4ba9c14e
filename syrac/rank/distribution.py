"""Choosing the ``tf.distribute`` strategy of a run on one machine (several machines:
:mod:`syrac.rank.multi_worker`).

``mirrored`` replicates the model on every local GPU (``tf.distribute.MirroredStrategy``);
gradients are summed across replicas after each replica's loss is divided by the replica count,
so a step equals a single-device step on the whole batch (up to batch-norm statistics, which
are computed per replica). On a machine without GPUs, setting ``SYRAC_CPU_REPLICAS=k`` splits
the CPU into k logical devices so the same code path can be tried and tested.
"""

import dataclasses
import os

import tensorflow as tf

from syrac.common.errors import SyracError


def split_cpu(replicas):
    """Split the first CPU into ``replicas`` logical devices (before TensorFlow initialises)."""
    cpus = tf.config.list_physical_devices("CPU")
    try:
        tf.config.set_logical_device_configuration(
            cpus[0], [tf.config.LogicalDeviceConfiguration()] * replicas
        )
    except RuntimeError:
        pass  # Already initialised; keep whatever devices exist.
    return [device.name for device in tf.config.list_logical_devices("CPU")][:replicas]


def make_strategy(name):
    """Return the strategy called ``name``: ``"default"`` or ``"mirrored"``."""
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "multi_worker":
        raise SyracError("--strategy multi_worker is made at start-up, before any TensorFlow op "
                         "(syrac.rank.multi_worker.create_strategy), not here")
    if name != "mirrored":
        raise SyracError(f"--strategy must be 'default' or 'mirrored'. Received: {name!r}")
    if tf.config.list_physical_devices("GPU"):
        return tf.distribute.MirroredStrategy()
    replicas = os.environ.get("SYRAC_CPU_REPLICAS")
    if replicas:
        if not replicas.isdigit() or int(replicas) < 1:
            raise SyracError(
                f"SYRAC_CPU_REPLICAS must be a positive integer. Received: {replicas!r}"
            )
        return tf.distribute.MirroredStrategy(split_cpu(int(replicas)))
    print("--strategy mirrored: no GPU found; training on the CPU as one replica.")
    return tf.distribute.MirroredStrategy(["/cpu:0"])


@dataclasses.dataclass(frozen=True)
class Distribution:
    """Where a run's replicas are: its ``tf.distribute`` strategy and, with several machines,
    this worker's :class:`syrac.rank.multi_worker.ClusterTask` (None on one machine)."""

    strategy: object
    cluster: object = None

    @classmethod
    def named(cls, name):
        """The distribution of ``--strategy default`` or ``mirrored`` (see :func:`make_strategy`)."""
        return cls(make_strategy(name))

    @property
    def replicas(self):
        return self.strategy.num_replicas_in_sync

    @property
    def is_chief(self):
        """Whether this process writes the run folder (always, on one machine)."""
        return self.cluster is None or self.cluster.is_chief

    @property
    def several_workers(self):
        return self.cluster is not None
