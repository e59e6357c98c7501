"""Random numbers that XLA and TensorFlow's graph compute alike.

For one seed, TensorFlow's float stateless samplers give other numbers under XLA than in its
graph (XLA's Philox floats are made differently), and XLA keeps only 32 bits of each seed
element. Their integer bits agree for seeds in [0, 2^32), so floats are made from those bits
here. `jit_compile = "auto"` turns XLA on or off by machine; with these, a seed is one run on
every machine.
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf


def stateless_draw(shape, seed, kind: str = "normal") -> tf.Tensor:
    """float32 N(0, 1) (kind "normal") or U(0, 1) ("uniform") numbers from a [2] int seed whose
    elements lie in [0, 2^32)."""
    bits = tf.random.stateless_uniform(shape, seed=seed, minval=None, maxval=None, dtype=tf.uint32)
    return floats_from_bits(bits, kind)


def floats_from_bits(bits, kind: str = "normal") -> tf.Tensor:
    """uint32 bits -> U(0, 1) or N(0, 1) float32. The top 23 bits pick one of 2^23 equal cells of
    (0, 1) and the value is its centre, which float32 holds exactly (24 bits would round the top
    cell's centre to 1.0, and erfinv(1) is inf): never 0 or 1, normals within +-5.3."""
    uniform = (tf.cast(tf.bitwise.right_shift(bits, 9), tf.float32) + 0.5) * (1.0 / 2**23)
    if kind == "uniform":
        return uniform
    if kind != "normal":
        raise ValueError(f"kind must be 'normal' or 'uniform', got {kind!r}")
    return math.sqrt(2.0) * tf.math.erfinv(2.0 * uniform - 1.0)


@keras.saving.register_keras_serializable(package="ganzoo")
class StatelessDropout(keras.layers.Dropout):
    """`keras.layers.Dropout` (same config, same seed-generator state) whose masks are the same
    under XLA and in the graph."""

    def call(self, inputs, training=False):
        if not training or self.rate <= 0:
            return inputs
        seed = tf.cast(self.seed_generator.next(), tf.int64)
        shape = tf.shape(inputs)
        if self.noise_shape is not None:  # Keras' meaning: None takes the input's size
            shape = tf.stack([shape[i] if size is None else size for i, size in enumerate(self.noise_shape)])
        keep = tf.cast(stateless_draw(shape, seed, "uniform") >= self.rate, inputs.dtype)
        return inputs * keep / tf.cast(1.0 - self.rate, inputs.dtype)
