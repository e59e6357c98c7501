"""The history of generated images that CycleGAN's discriminators learn from (Shrivastava et al.
2017; Zhu et al. 2017, section 4): D sees a mix of current and earlier fakes, which damps
oscillation between G and D."""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="ganzoo")
class ImagePool(keras.layers.Layer):
    """Keeps up to `size` earlier generated images. For each image of a batch, in order: while the
    pool is not full, the image is stored and returned; once full, with probability 1/2 a random
    stored image is returned and the new one takes its place, otherwise the new image is returned.

    The pool's contents are non-trainable weights, so checkpoints hold them and a resumed run
    continues with the same history. Randomness is stateless: `call(images, seed)` with a
    [2] int seed (the model passes one derived from its step). Under several replicas, the
    first replica's updates are kept (the others read the same pool)."""

    def __init__(self, size: int = 50, **kwargs):
        super().__init__(**kwargs)
        if size < 0:
            raise ValueError(f"pool size must be >= 0, got {size}")
        self.size = int(size)

    def build(self, input_shape):
        sync = {"aggregation": "only_first_replica", "autocast": False}
        self.images = self.add_weight(name="images", shape=(max(self.size, 1), *input_shape[1:]), dtype="float32", initializer="zeros",
                                      trainable=False, **sync)
        # int64, not int32: TensorFlow keeps int32 variables in host memory, which a GPU's XLA step
        # cannot reach ("Trying to access resource ... located in device CPU:0 from device GPU:0").
        self.count = self.add_weight(name="count", shape=(), dtype="int64", initializer="zeros", trainable=False, **sync)

    def call(self, images, seed):
        if self.size == 0:
            return images
        images = tf.cast(images, self.images.dtype)
        batch = tf.shape(images)[0]
        # Integer draws: TensorFlow's float stateless_uniform gives other numbers under XLA than in
        # a graph, its integer draws the same, so the pool decides alike whatever jit_compile is.
        # One draw for coins and slots: a second seed (seed + 1) could be another step's seed.
        draws = tf.random.stateless_uniform([2, batch], seed=seed, maxval=2**30, dtype=tf.int32)
        coins, slots = draws[0] % 2, draws[1] % self.size
        pool, count = self.images.value, tf.cast(self.count.value, tf.int32)

        def one_image(i, pool, count, chosen):
            image = images[i]
            filling = count < self.size
            swap = tf.logical_and(tf.logical_not(filling), coins[i] == 1)
            slot = tf.where(filling, count, slots[i])
            stored = tf.gather(pool, slot)
            returned = tf.where(swap, stored, image)
            write = tf.logical_or(filling, swap)
            pool = tf.tensor_scatter_nd_update(pool, [[slot]], [tf.where(write, image, stored)])
            chosen = chosen.write(i, returned)
            return i + 1, pool, count + tf.cast(filling, tf.int32), chosen

        chosen = tf.TensorArray(images.dtype, size=batch, element_shape=images.shape[1:])
        _, pool, count, chosen = tf.while_loop(lambda i, *_: i < batch, one_image, (0, pool, count, chosen))
        self.images.assign(pool)
        self.count.assign(tf.cast(count, self.count.dtype))
        return tf.ensure_shape(chosen.stack(), images.shape)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "size": self.size}
