"""Choosing the tf.distribute strategy a recipe trains under.

`auto` picks TPUStrategy when a TPU is configured, MultiWorkerMirroredStrategy when TF_CONFIG
names several workers, MirroredStrategy when more than one GPU is visible, and the default
strategy otherwise. `mirrored` uses every GPU, or every logical CPU when there is no GPU (which
is how the tests run two replicas on one CPU).
"""

from __future__ import annotations

import json
import os

import tensorflow as tf

from ganzoo.errors import RecipeError
from ganzoo.recipes import STRATEGIES, check_choice


def tf_config() -> dict:
    try:
        config = json.loads(os.environ.get("TF_CONFIG", "{}"))
    except json.JSONDecodeError:
        raise RecipeError("TF_CONFIG is not valid JSON") from None
    if not isinstance(config, dict):
        raise RecipeError("TF_CONFIG must be a JSON object with 'cluster' and 'task'")
    return config


def tf_config_workers() -> int:
    cluster = tf_config().get("cluster", {})
    return len(cluster.get("worker", [])) + len(cluster.get("chief", []))


def task_identity() -> tuple[bool, str]:
    """(is this process the chief, its name) from TF_CONFIG: the `chief` task, or worker 0 when
    the cluster has no chief, is the one that writes run directories. Without TF_CONFIG: the chief."""
    config = tf_config()
    task = config.get("task", {})
    kind, index = task.get("type", "chief"), int(task.get("index", 0))
    has_chief = bool(config.get("cluster", {}).get("chief"))
    return kind == "chief" or (kind == "worker" and index == 0 and not has_chief), f"{kind}-{index}"


def tpu_configured() -> bool:
    # Only ask the resolver where a TPU is announced: on other machines it may probe the network.
    return bool(os.environ.get("TPU_NAME") or os.environ.get("COLAB_TPU_ADDR") or os.path.exists("/dev/accel0"))


def resolve_strategy_name(name: str) -> str:
    if check_choice("train.strategy", name, STRATEGIES) != "auto":
        return name
    if tpu_configured():
        return "tpu"
    if tf_config_workers() > 1:
        return "multi_worker"
    if len(tf.config.list_logical_devices("GPU")) > 1:
        return "mirrored"
    return "default"


def select_strategy(name: str = "auto") -> tf.distribute.Strategy:
    name = resolve_strategy_name(name)
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]
        return tf.distribute.MirroredStrategy(devices=devices)
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)
