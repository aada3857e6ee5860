"""Where a run trains: one device, all local GPUs, or several machines, with TensorFlow's
``tf.distribute``.

- ``default``: one device, as a plain ``model.fit``.
- ``mirrored``: ``MirroredStrategy`` over all local GPUs (over the CPU when there is none;
  ``MIEN_CPU_DEVICES=N`` splits it into N logical devices, to try distribution without a GPU).
- ``multi-worker``: ``MultiWorkerMirroredStrategy`` over the machines the standard ``TF_CONFIG``
  environment variable describes. The same command runs on every machine; only ``TF_CONFIG``
  differs. The chief (task ``chief``, else worker 0) writes the run folder.
- ``auto``: ``mirrored`` when several GPUs are visible, else ``default``.

``--batch-size`` is per replica: the global batch is it times the replicas, and the peak learning
rate is ``--learning-rate`` times the replicas (the linear scaling rule; the warm-up keeps large
batches stable).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import tensorflow as tf

from pipeline.training.config import STRATEGIES
from pipeline.errors import UserError


@dataclass
class Cluster:
    strategy: tf.distribute.Strategy
    name: str
    workers: int = 1
    chief: bool = True

    @property
    def replicas(self) -> int:
        return self.strategy.num_replicas_in_sync

    def describe(self) -> dict:
        return {"strategy": self.name, "workers": self.workers, "replicas": self.replicas}


def split_cpu() -> None:
    """Split the CPU into MIEN_CPU_DEVICES logical devices (before TensorFlow first uses it)."""
    count = int(os.environ.get("MIEN_CPU_DEVICES", "1") or 1)
    if count > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)


def make_cluster(name: str) -> Cluster:
    """The strategy ``name`` (one of STRATEGIES) asks for, on this machine or cluster."""
    if name not in STRATEGIES:
        raise UserError(f"Unknown --strategy {name!r}; use one of {', '.join(STRATEGIES)}.")
    split_cpu()
    if name == "multi-worker":
        return multi_worker()
    gpus = tf.config.list_logical_devices("GPU")
    if name == "mirrored" or (name == "auto" and len(gpus) > 1):
        devices = [device.name for device in gpus or tf.config.list_logical_devices("CPU")]
        return Cluster(tf.distribute.MirroredStrategy(devices), "mirrored")
    return Cluster(tf.distribute.get_strategy(), "default")


def multi_worker() -> Cluster:
    try:
        settings = json.loads(os.environ["TF_CONFIG"])
        cluster, task = settings["cluster"], settings["task"]
        workers = len(cluster.get("chief", [])) + len(cluster.get("worker", []))
        chief = task["type"] == "chief" or (task["type"] == "worker" and task["index"] == 0 and "chief" not in cluster)
    except KeyError:
        raise UserError("--strategy multi-worker needs the TF_CONFIG environment variable, with the cluster's "
                        "addresses and this machine's task; see the README.") from None
    except (ValueError, TypeError):
        raise UserError("TF_CONFIG is not valid JSON of the form {\"cluster\": {\"worker\": [...]}, \"task\": "
                        "{\"type\": \"worker\", \"index\": 0}}; see the README.") from None
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    return Cluster(strategy, "multi-worker", workers=workers, chief=chief)
