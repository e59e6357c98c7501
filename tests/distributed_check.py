"""Run in a subprocess by test_distribute.py: the same training under MirroredStrategy with two
logical CPU devices and under the default strategy, printed as JSON (logical devices must be
configured before TensorFlow starts, hence the separate process)."""

from __future__ import annotations

import json
import sys

import tensorflow as tf

tf.config.set_logical_device_configuration(
    tf.config.list_physical_devices("CPU")[0], [tf.config.LogicalDeviceConfiguration()] * 2
)

import keras  # noqa: E402
import numpy as np  # noqa: E402

import ganzoo  # noqa: E402
from ganzoo.data import training_dataset  # noqa: E402
from ganzoo.training.strategy import select_strategy  # noqa: E402


def run(strategy_name: str, model_name: str, loss: str, overrides: dict, bug: bool = False) -> dict:
    keras.utils.set_random_seed(0)
    strategy = select_strategy(strategy_name)
    if bug and strategy.num_replicas_in_sync > 1:
        # The control: losses averaged over the replica's batch instead of the global one, so
        # the all-reduced gradients are twice too large (what the check exists to catch).
        from ganzoo import losses
        from ganzoo.models.base import GAN

        GAN.scale_loss = lambda self, per_example, local_batch: losses.global_batch_mean(per_example, local_batch)
    with strategy.scope():
        model = ganzoo.create_model(model_name, "tiny", **overrides)
        # SGD: Adam is nearly scale-invariant and would hide a gradient twice too large.
        model.compile(g_optimizer=keras.optimizers.SGD(0.1), d_optimizer=keras.optimizers.SGD(0.1),
                      loss=loss, noise_seed=5, jit_compile=False)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (64,) + model.image_shape, dtype=np.uint8)
    labels = (np.arange(64) % 10).astype(np.int32) if model.num_classes else None
    dataset = training_dataset(images, 16, seed=0, labels=labels)
    initial = [w.tolist() for w in model.get_weights()]
    history = model.fit(dataset, epochs=2, steps_per_epoch=3, verbose=0).history
    return {
        "replicas": strategy.num_replicas_in_sync,
        "initial": initial,
        "history": {k: [float(x) for x in v] for k, v in history.items()},
        "weights": [w.tolist() for w in model.get_weights()],
    }


if __name__ == "__main__":
    model_name, loss, overrides = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    bug = sys.argv[4:] == ["--bug"]
    print("RESULT " + json.dumps({name: run(name, model_name, loss, overrides, bug) for name in ("default", "mirrored")}))
