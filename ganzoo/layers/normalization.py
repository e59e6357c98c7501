"""Instance normalisation and reflection padding, the two blocks of CycleGAN's ResNet generator.

Both lower to TFLite builtin ops (MEAN, SQUARED_DIFFERENCE, RSQRT, MIRROR_PAD) at any image size.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops


class Moments:
    """Whole-image instance-norm statistics built up tile by tile (CycleGAN.translate_tiled).

    Layers named in `fixed` normalise with those (mean, variance) instead of their input's own.
    The layer named `target` adds its input's sum and sum of squares over the tile's `centre` (a
    box in input pixels, (top, bottom, left, right) within a window of `window` pixels; scaled to
    the layer's resolution) to the running totals and ends the pass (raises Moments.Stop): nothing
    after it is needed yet. A plain object, so Keras does not wrap it as it wraps dicts."""

    class Stop(Exception):
        pass

    def __init__(self):
        self.fixed: dict = {}
        self.target: str | None = None
        self.centre: tuple = ()
        self.window: tuple = ()
        self.totals: list = []  # [count, sum, sum of squares] of the target, float64

    def add(self, x) -> None:
        import numpy as np

        x = np.asarray(x, np.float64)[0]
        step_h, step_w = self.window[0] // x.shape[0], self.window[1] // x.shape[1]
        top, bottom, left, right = self.centre
        part = x[top // step_h : bottom // step_h, left // step_w : right // step_w]
        count, total, squares = self.totals or (0, 0.0, 0.0)
        self.totals = [count + part.shape[0] * part.shape[1], total + part.sum(axis=(0, 1)), squares + (part**2).sum(axis=(0, 1))]

    def finish(self) -> None:
        """The target's mean and variance from the totals; it joins `fixed`."""
        import numpy as np

        count, total, squares = self.totals
        mean = total / count
        variance = np.maximum(squares / count - mean**2, 0.0)
        self.fixed[self.target] = (mean.reshape(1, 1, 1, -1).astype("float32"), variance.reshape(1, 1, 1, -1).astype("float32"))
        self.target, self.totals = None, []


@keras.saving.register_keras_serializable(package="ganzoo")
class InstanceNormalization(keras.layers.Layer):
    """y = gamma * (x - mean_hw) / sqrt(var_hw + epsilon) + beta, statistics per image and
    channel over height and width (Ulyanov et al. 2016); same in training and inference."""

    # Export-time per-channel epsilon (tasks/translation.py int8_form): epsilon / t^2 when the conv
    # before this layer has its output channels divided by t, so the layer computes what it did.
    int8_epsilon = None

    def __init__(self, epsilon: float = 1e-5, affine: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.epsilon, self.affine = float(epsilon), bool(affine)
        self.moments: Moments | None = None  # tiled inference (CycleGAN.translate_tiled); never saved

    def build(self, input_shape):
        if self.affine:
            channels = input_shape[-1]
            self.gamma = self.add_weight(name="gamma", shape=(channels,), initializer="ones")
            self.beta = self.add_weight(name="beta", shape=(channels,), initializer="zeros")

    def call(self, inputs):
        # Statistics in float32 even under mixed precision: float16 variances of large maps overflow.
        x = ops.cast(inputs, "float32")
        if self.moments is not None and self.name in self.moments.fixed:
            mean, variance = self.moments.fixed[self.name]
        else:
            if self.moments is not None and self.moments.target == self.name:
                self.moments.add(ops.convert_to_numpy(x))
                raise Moments.Stop()
            mean = ops.mean(x, axis=(1, 2), keepdims=True)
            variance = ops.mean(ops.square(x - mean), axis=(1, 2), keepdims=True)
        y = (x - mean) * ops.rsqrt(variance + (self.epsilon if self.int8_epsilon is None else self.int8_epsilon))
        if self.affine:
            y = y * ops.cast(self.gamma, "float32") + ops.cast(self.beta, "float32")
        return ops.cast(y, self.compute_dtype)

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon, "affine": self.affine}


@keras.saving.register_keras_serializable(package="ganzoo")
class ReflectionPadding2D(keras.layers.Layer):
    """Pads height and width by mirroring without repeating the edge (tf.pad REFLECT), so
    convolutions see no artificial zero border."""

    def __init__(self, padding: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.padding = int(padding)

    def call(self, inputs):
        p = self.padding
        return tf.pad(inputs, [[0, 0], [p, p], [p, p], [0, 0]], mode="REFLECT")

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        grow = lambda d: None if d is None else d + 2 * self.padding
        return (batch, grow(height), grow(width), channels)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding}
