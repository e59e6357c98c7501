"""Conditional GAN (Mirza & Osindero 2014) on DCGAN networks.

The label enters the generator as a learned embedding joined with the latent, and the
discriminator either through a projection (Miyato & Koyama 2018: logit = psi(h) + <embed(y), h>)
or as an embedding concatenated to the image as an extra channel.
"""

from __future__ import annotations

import keras
from keras import layers, ops

from ganzoo.models.base import LatentGAN
from ganzoo.models.dcgan import downsampling_stack, initializers, upsampling_stack
from ganzoo.registry import register_model

CONDITIONINGS = ("projection", "concat")


def build_conditional_generator(latent_dim, num_classes, embedding_dim, image_shape, filters, init_std) -> keras.Model:
    latents = keras.Input((latent_dim,), name="latent")
    labels = keras.Input((), dtype="int32", name="label")
    embedded = layers.Embedding(num_classes, embedding_dim, name="label_embedding")(labels)
    joined = layers.Concatenate(name="latent_and_label")([latents, embedded])
    images = upsampling_stack(joined, image_shape, filters, init_std)
    return keras.Model([latents, labels], images, name="generator")


@keras.saving.register_keras_serializable(package="ganzoo")
class ProjectionLogit(layers.Layer):
    """psi(h) + <embed(y), h>: the class-conditional logit of a projection discriminator."""

    def __init__(self, num_classes: int, init_std: float = 0.02, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.init_std = init_std

    def build(self, input_shape):
        features_shape, _ = input_shape
        # The sub-layers compute in this layer's dtype (float32 logits under a mixed policy).
        self.unconditional = layers.Dense(1, name="psi", dtype=self.dtype_policy, **initializers(self.init_std)[0])
        self.unconditional.build(features_shape)
        self.class_embedding = layers.Embedding(self.num_classes, features_shape[-1], name="class_embedding", dtype=self.dtype_policy,
                                                embeddings_initializer=keras.initializers.RandomNormal(0.0, 0.02))
        self.class_embedding.build((None,))

    def call(self, inputs):
        features, labels = inputs
        projection = ops.sum(self.class_embedding(labels) * features, axis=-1, keepdims=True)
        return self.unconditional(features) + projection

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "init_std": self.init_std}


def build_conditional_discriminator(image_shape, num_classes, filters, batchnorm, conditioning, feature_units, init_std):
    if conditioning not in CONDITIONINGS:
        raise ValueError(f"conditioning must be one of {CONDITIONINGS}, got {conditioning!r}")
    images = keras.Input(tuple(image_shape), name="image")
    labels = keras.Input((), dtype="int32", name="label")
    height, width, _ = image_shape
    x = images
    if conditioning == "concat":
        plane = layers.Embedding(num_classes, height * width, name="label_plane")(labels)
        plane = layers.Reshape((height, width, 1), name="label_plane_reshape")(plane)
        x = layers.Concatenate(name="image_and_label")([images, plane])
    features = downsampling_stack(x, filters, batchnorm, init_std)
    features = layers.Dense(feature_units, name="features", **initializers(init_std)[0])(features)
    features = layers.LeakyReLU(0.2, name="features_lrelu")(features)
    if conditioning == "projection":
        logits = ProjectionLogit(num_classes, init_std, dtype="float32", name="logit")([features, labels])
    else:
        logits = layers.Dense(1, dtype="float32", name="logit", **initializers(init_std)[0])(features)
    return keras.Model([images, labels], logits, name="discriminator")


@register_model("cgan")
class ConditionalGAN(LatentGAN):
    """Class-conditional GAN on DCGAN networks (Mirza & Osindero 2014).

    Generator: [latent [batch, latent_dim], label int32 [batch]] -> the label's learned embedding
    joined with the latent -> the DCGAN upsampling stack -> image in [-1, 1]. Discriminator:
    [image, label] -> logit, conditioned by projection (Miyato & Koyama 2018, the default) or by an
    embedded label plane concatenated to the image (`conditioning="concat"`). Data: batches of
    (images, labels); fakes are made for the real batch's labels.

    Presets: `tiny` (16x16x1), `mnist`, `fashion_mnist` (28x28x1, 10 classes), `cifar32`.
    `generate(n, seed=..., labels=3)` samples one class; recipes: `recipes/cgan_mnist.toml`,
    `recipes/cgan_fashion_mnist.toml`.
    """

    presets = {
        "tiny": dict(latent_dim=16, num_classes=10, image_shape=(16, 16, 1), g_filters=(32, 16), d_filters=(16, 32),
                     embedding_dim=8, feature_units=32),
        "mnist": dict(latent_dim=100, num_classes=10, image_shape=(28, 28, 1), g_filters=(128, 64), d_filters=(64, 128)),
        "fashion_mnist": dict(latent_dim=100, num_classes=10, image_shape=(28, 28, 1), g_filters=(128, 64),
                              d_filters=(64, 128)),
        "cifar32": dict(latent_dim=128, num_classes=10, image_shape=(32, 32, 3), g_filters=(512, 256, 128),
                        d_filters=(128, 256, 512), embedding_dim=128, feature_units=512),
    }

    def __init__(
        self,
        latent_dim: int = 100,
        num_classes: int = 10,
        image_shape=(28, 28, 1),
        g_filters=(128, 64),
        d_filters=(64, 128),
        embedding_dim: int = 50,
        conditioning: str = "projection",
        feature_units: int = 256,
        d_batchnorm: bool = True,
        init_std: float = 0.02,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if num_classes < 2:
            raise ValueError(f"num_classes must be at least 2, got {num_classes}")
        self.latent_dim = int(latent_dim)
        self.num_classes = int(num_classes)
        self.g_filters = tuple(g_filters)
        self.d_filters = tuple(d_filters)
        self.embedding_dim = int(embedding_dim)
        self.conditioning = conditioning
        self.feature_units = int(feature_units)
        self.d_batchnorm = bool(d_batchnorm)
        self.init_std = float(init_std)
        self.generator = build_conditional_generator(
            self.latent_dim, self.num_classes, self.embedding_dim, tuple(image_shape), self.g_filters, self.init_std
        )
        self.discriminator = build_conditional_discriminator(
            tuple(image_shape), self.num_classes, self.d_filters, self.d_batchnorm, conditioning,
            self.feature_units, self.init_std,
        )
        self.finish_init()
