"""The baseline `ganzoo bench train` compares against: a DCGAN written the way most Keras users
write one (the keras-io "DCGAN overriding train_step" pattern), with the same layers, batch and
data as ganzoo's DCGAN preset. Nothing here is tuned on purpose: default `compile` settings, two
generator forward passes per step, a plain `from_tensor_slices -> shuffle -> batch` pipeline on
float images.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from ganzoo.images import to_signed


def reference_generator(latent_dim: int, image_shape, filters) -> keras.Model:
    height, width, channels = image_shape
    base_h, base_w = height // 2 ** len(filters), width // 2 ** len(filters)
    model = keras.Sequential([keras.Input((latent_dim,)), layers.Dense(base_h * base_w * filters[0], use_bias=False),
                              layers.BatchNormalization(), layers.ReLU(), layers.Reshape((base_h, base_w, filters[0]))],
                             name="generator")
    for f in filters[1:]:
        model.add(layers.Conv2DTranspose(f, 4, strides=2, padding="same", use_bias=False))
        model.add(layers.BatchNormalization())
        model.add(layers.ReLU())
    model.add(layers.Conv2DTranspose(channels, 4, strides=2, padding="same", activation="tanh"))
    return model


def reference_discriminator(image_shape, filters) -> keras.Model:
    model = keras.Sequential([keras.Input(tuple(image_shape))], name="discriminator")
    for i, f in enumerate(filters):
        model.add(layers.Conv2D(f, 4, strides=2, padding="same", use_bias=i == 0))
        if i:
            model.add(layers.BatchNormalization())
        model.add(layers.LeakyReLU(0.2))
    model.add(layers.Flatten())
    model.add(layers.Dense(1))
    return model


class ReferenceGAN(keras.Model):
    def __init__(self, discriminator, generator, latent_dim):
        super().__init__()
        self.discriminator = discriminator
        self.generator = generator
        self.latent_dim = latent_dim
        self.seed_generator = keras.random.SeedGenerator(1337)

    def compile(self, d_optimizer, g_optimizer, loss_fn):
        super().compile()
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.loss_fn = loss_fn
        self.d_loss_metric = keras.metrics.Mean(name="d_loss")
        self.g_loss_metric = keras.metrics.Mean(name="g_loss")

    @property
    def metrics(self):
        return [self.d_loss_metric, self.g_loss_metric]

    def train_step(self, real_images):
        batch_size = tf.shape(real_images)[0]
        random_latent_vectors = keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)
        generated_images = self.generator(random_latent_vectors)
        combined_images = tf.concat([generated_images, real_images], axis=0)
        labels = tf.concat([tf.ones((batch_size, 1)), tf.zeros((batch_size, 1))], axis=0)
        with tf.GradientTape() as tape:
            predictions = self.discriminator(combined_images)
            d_loss = self.loss_fn(labels, predictions)
        grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))

        random_latent_vectors = keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)
        misleading_labels = tf.zeros((batch_size, 1))
        with tf.GradientTape() as tape:
            predictions = self.discriminator(self.generator(random_latent_vectors))
            g_loss = self.loss_fn(misleading_labels, predictions)
        grads = tape.gradient(g_loss, self.generator.trainable_weights)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))

        self.d_loss_metric.update_state(d_loss)
        self.g_loss_metric.update_state(g_loss)
        return {"d_loss": self.d_loss_metric.result(), "g_loss": self.g_loss_metric.result()}


def build_reference(config: dict) -> ReferenceGAN:
    """The reference around the networks of a DCGAN config (latent_dim, image_shape, g/d_filters)."""
    latent_dim, image_shape = config["latent_dim"], config["image_shape"]
    gan = ReferenceGAN(reference_discriminator(image_shape, config["d_filters"]),
                       reference_generator(latent_dim, image_shape, config["g_filters"]), latent_dim)
    gan.compile(
        d_optimizer=keras.optimizers.Adam(learning_rate=2e-4, beta_1=0.5),
        g_optimizer=keras.optimizers.Adam(learning_rate=2e-4, beta_1=0.5),
        loss_fn=keras.losses.BinaryCrossentropy(from_logits=True),
    )
    return gan


def reference_dataset(images_uint8: np.ndarray, batch_size: int) -> tf.data.Dataset:
    images = to_signed(images_uint8)
    return tf.data.Dataset.from_tensor_slices(images).shuffle(buffer_size=1024).batch(batch_size).repeat()


def build_reference_3d(config: dict) -> ReferenceGAN:
    """The same keras-io loop around gan3d's own networks of a gan3d config (built by the same
    functions): what a Keras user's 3D-GAN step costs without ganzoo's step (one G pass, stateless
    noise, the adaptive D update)."""
    from ganzoo.models.gan3d import build_gan3d_discriminator, build_gan3d_generator

    latent_dim, volume_size = config["latent_dim"], config["volume_size"]
    gan = ReferenceGAN(build_gan3d_discriminator(volume_size, config["d_filters"]),
                       build_gan3d_generator(latent_dim, volume_size, config["g_filters"]), latent_dim)
    gan.compile(
        d_optimizer=keras.optimizers.Adam(learning_rate=1e-4, beta_1=0.5),
        g_optimizer=keras.optimizers.Adam(learning_rate=1e-3, beta_1=0.5),
        loss_fn=keras.losses.BinaryCrossentropy(from_logits=True),
    )
    return gan


def reference_volume_dataset(volumes_uint8: np.ndarray, batch_size: int) -> tf.data.Dataset:
    volumes = volumes_uint8.astype("float32")
    return tf.data.Dataset.from_tensor_slices(volumes).shuffle(buffer_size=1024).batch(batch_size).repeat()
