"""Vanilla GAN (Goodfellow et al. 2014): MLP generator and discriminator, non-saturating loss."""

from __future__ import annotations

import math

import keras
from keras import layers

from ganzoo.layers.random import StatelessDropout
from ganzoo.models.base import LatentGAN
from ganzoo.registry import register_model


def build_mlp_generator(latent_dim: int, image_shape, hidden_units) -> keras.Model:
    latents = keras.Input((latent_dim,), name="latent")
    x = latents
    for i, units in enumerate(hidden_units):
        x = layers.Dense(units, name=f"dense{i}")(x)
        x = layers.LeakyReLU(0.2, name=f"dense{i}_lrelu")(x)
    x = layers.Dense(math.prod(image_shape), name="to_pixels")(x)
    x = layers.Activation("tanh", dtype="float32", name="tanh")(x)
    images = layers.Reshape(tuple(image_shape), name="to_image")(x)
    return keras.Model(latents, images, name="generator")


def build_mlp_discriminator(image_shape, hidden_units, dropout: float) -> keras.Model:
    images = keras.Input(tuple(image_shape), name="image")
    x = layers.Flatten(name="flatten")(images)
    for i, units in enumerate(hidden_units):
        x = layers.Dense(units, name=f"dense{i}")(x)
        x = layers.LeakyReLU(0.2, name=f"dense{i}_lrelu")(x)
        if dropout:
            x = StatelessDropout(dropout, name=f"dense{i}_dropout")(x)
    logits = layers.Dense(1, dtype="float32", name="logit")(x)
    return keras.Model(images, logits, name="discriminator")


@register_model("vanilla")
class VanillaGAN(LatentGAN):
    """Vanilla GAN: multilayer perceptrons for both networks (Goodfellow et al. 2014).

    Generator: latent [batch, latent_dim] -> Dense + LeakyReLU layers (`g_units`) -> tanh pixels
    reshaped to [batch, H, W, C] in [-1, 1]. Discriminator: flattened image -> Dense + LeakyReLU
    (+ dropout, `d_dropout`) layers (`d_units`) -> one logit. Non-saturating loss by default.

    Presets: `tiny` (8x8x1, for tests), `mnist` (28x28x1, 256-512-1024 units). Recipe:
    `recipes/vanilla_mnist.toml`.
    """

    presets = {
        "tiny": dict(latent_dim=16, image_shape=(8, 8, 1), g_units=(32,), d_units=(32,)),
        "mnist": dict(latent_dim=100, image_shape=(28, 28, 1), g_units=(256, 512, 1024), d_units=(1024, 512, 256)),
    }

    def __init__(
        self,
        latent_dim: int = 100,
        image_shape=(28, 28, 1),
        g_units=(256, 512, 1024),
        d_units=(1024, 512, 256),
        d_dropout: float = 0.3,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.latent_dim = int(latent_dim)
        self.g_units = tuple(g_units)
        self.d_units = tuple(d_units)
        self.d_dropout = float(d_dropout)
        self.generator = build_mlp_generator(self.latent_dim, tuple(image_shape), self.g_units)
        self.discriminator = build_mlp_discriminator(tuple(image_shape), self.d_units, self.d_dropout)
        self.finish_init()
