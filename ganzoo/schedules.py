"""Learning-rate schedules that recipes name (`optimizer.<net>.decay`)."""

from __future__ import annotations

import keras
from keras import ops

DECAYS = ("constant", "linear_second_half")


@keras.saving.register_keras_serializable(package="ganzoo")
class HoldThenLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """The CycleGAN schedule: `learning_rate` for the first half of `total_steps`, then linearly
    down to zero at `total_steps` (Zhu et al. 2017: 100 epochs constant, 100 decaying)."""

    def __init__(self, learning_rate: float, total_steps: int):
        self.learning_rate, self.total_steps = float(learning_rate), int(total_steps)

    def __call__(self, step):
        half = self.total_steps / 2.0
        progress = (ops.cast(step, "float32") - half) / max(half, 1.0)
        return self.learning_rate * ops.clip(1.0 - progress, 0.0, 1.0)

    def get_config(self):
        return {"learning_rate": self.learning_rate, "total_steps": self.total_steps}


def learning_rate(value: float, decay: str, total_steps: int):
    if decay == "constant":
        return value
    if decay == "linear_second_half":
        return HoldThenLinearDecay(value, total_steps)
    raise ValueError(f"unknown decay {decay!r}; known: {', '.join(DECAYS)}")
