"""Instance normalisation and reflection padding, the two blocks of CycleGAN's ResNet generator.

Both lower to TFLite builtin ops (MEAN, SQUARED_DIFFERENCE, RSQRT, MIRROR_PAD) at any image size.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops


@keras.saving.register_keras_serializable(package="ganzoo")
class InstanceNormalization(keras.layers.Layer):
    """y = gamma * (x - mean_hw) / sqrt(var_hw + epsilon) + beta, statistics per image and
    channel over height and width (Ulyanov et al. 2016); same in training and inference."""

    def __init__(self, epsilon: float = 1e-5, affine: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.epsilon, self.affine = float(epsilon), bool(affine)

    def build(self, input_shape):
        if self.affine:
            channels = input_shape[-1]
            self.gamma = self.add_weight(name="gamma", shape=(channels,), initializer="ones")
            self.beta = self.add_weight(name="beta", shape=(channels,), initializer="zeros")

    def call(self, inputs):
        # Statistics in float32 even under mixed precision: float16 variances of large maps overflow.
        x = ops.cast(inputs, "float32")
        mean = ops.mean(x, axis=(1, 2), keepdims=True)
        variance = ops.mean(ops.square(x - mean), axis=(1, 2), keepdims=True)
        y = (x - mean) * ops.rsqrt(variance + self.epsilon)
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
