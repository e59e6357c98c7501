"""DCGAN (Radford, Metz & Chintala 2015): transposed-conv generator with batch norm and ReLU,
tanh output; strided-conv discriminator with LeakyReLU."""

from __future__ import annotations

import keras
from keras import layers

from ganzoo.models.base import LatentGAN
from ganzoo.registry import register_model


def initializers(init_std: float) -> tuple[dict, dict]:
    """Weights from N(0, init_std) and batch-norm scales from N(1, init_std), as the paper
    initialises every layer (std 0.02); Keras' defaults when init_std is 0."""
    if not init_std:
        return {}, {}
    return (
        {"kernel_initializer": keras.initializers.RandomNormal(0.0, init_std)},
        {"gamma_initializer": keras.initializers.RandomNormal(1.0, init_std)},
    )


def upsampling_stack(x, image_shape, filters, init_std: float = 0.02):
    """Vector -> Dense to a (H / 2^n, W / 2^n, filters[0]) map -> n stride-2 transposed convs
    with batch norm and ReLU -> tanh image."""
    height, width, channels = image_shape
    stages = len(filters)
    if height % 2**stages or width % 2**stages:
        raise ValueError(f"image_shape {tuple(image_shape)} is not divisible by 2^{stages} (len(g_filters))")
    base_h, base_w = height // 2**stages, width // 2**stages
    kernel_init, bn_init = initializers(init_std)
    x = layers.Dense(base_h * base_w * filters[0], use_bias=False, name="project", **kernel_init)(x)
    x = layers.BatchNormalization(synchronized=True, name="project_bn", **bn_init)(x)
    x = layers.ReLU(name="project_relu")(x)
    x = layers.Reshape((base_h, base_w, filters[0]), name="project_reshape")(x)
    for i, f in enumerate(filters[1:], start=1):
        x = layers.Conv2DTranspose(f, 4, strides=2, padding="same", use_bias=False, name=f"up{i}", **kernel_init)(x)
        x = layers.BatchNormalization(synchronized=True, name=f"up{i}_bn", **bn_init)(x)
        x = layers.ReLU(name=f"up{i}_relu")(x)
    x = layers.Conv2DTranspose(channels, 4, strides=2, padding="same", name="to_image", **kernel_init)(x)
    return layers.Activation("tanh", dtype="float32", name="tanh")(x)


def downsampling_stack(x, filters, batchnorm: bool, init_std: float = 0.02):
    """Stride-2 convs with LeakyReLU(0.2); batch norm on all but the first (paper, section 3).
    Returns the flattened features."""
    kernel_init, bn_init = initializers(init_std)
    for i, f in enumerate(filters):
        x = layers.Conv2D(f, 4, strides=2, padding="same", use_bias=not (batchnorm and i), name=f"down{i}", **kernel_init)(x)
        if batchnorm and i:
            x = layers.BatchNormalization(synchronized=True, name=f"down{i}_bn", **bn_init)(x)
        x = layers.LeakyReLU(0.2, name=f"down{i}_lrelu")(x)
    return layers.Flatten(name="flatten")(x)


def build_dcgan_generator(latent_dim: int, image_shape, filters, init_std: float = 0.02) -> keras.Model:
    latents = keras.Input((latent_dim,), name="latent")
    return keras.Model(latents, upsampling_stack(latents, image_shape, filters, init_std), name="generator")


def build_dcgan_discriminator(image_shape, filters, batchnorm: bool, init_std: float = 0.02) -> keras.Model:
    images = keras.Input(tuple(image_shape), name="image")
    features = downsampling_stack(images, filters, batchnorm, init_std)
    logits = layers.Dense(1, dtype="float32", name="logit", **initializers(init_std)[0])(features)
    return keras.Model(images, logits, name="discriminator")


@register_model("dcgan")
class DCGAN(LatentGAN):
    """DCGAN: an unconditional image generator from latent noise (Radford, Metz & Chintala 2015).

    Generator: latent [batch, latent_dim] -> Dense -> stride-2 transposed convolutions with batch
    norm and ReLU -> tanh image [batch, H, W, C] in [-1, 1]. Discriminator: stride-2 convolutions
    with LeakyReLU(0.2) (batch norm after the first) -> one logit. Weights start from N(0, 0.02).

    Presets: `tiny` (16x16x1, for tests), `mnist` (28x28x1), `cifar32` (32x32x3), `celeba64`
    (64x64x3). Train with `compile()` + `fit(images)` on batches in [-1, 1]; sample with
    `generate(n, seed=...)`; recipes: `recipes/dcgan_mnist.toml`, `recipes/dcgan_fashion_mnist.toml`.
    """

    presets = {
        "tiny": dict(latent_dim=16, image_shape=(16, 16, 1), g_filters=(32, 16), d_filters=(16, 32)),
        "mnist": dict(latent_dim=100, image_shape=(28, 28, 1), g_filters=(128, 64), d_filters=(64, 128)),
        "cifar32": dict(latent_dim=128, image_shape=(32, 32, 3), g_filters=(512, 256, 128), d_filters=(128, 256, 512)),
        "celeba64": dict(
            latent_dim=128, image_shape=(64, 64, 3), g_filters=(512, 256, 128, 64), d_filters=(64, 128, 256, 512)
        ),
    }

    def __init__(
        self,
        latent_dim: int = 100,
        image_shape=(28, 28, 1),
        g_filters=(128, 64),
        d_filters=(64, 128),
        d_batchnorm: bool = True,
        init_std: float = 0.02,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.latent_dim = int(latent_dim)
        self.g_filters = tuple(g_filters)
        self.d_filters = tuple(d_filters)
        self.d_batchnorm = bool(d_batchnorm)
        self.init_std = float(init_std)
        self.generator = build_dcgan_generator(self.latent_dim, tuple(image_shape), self.g_filters, self.init_std)
        self.discriminator = build_dcgan_discriminator(tuple(image_shape), self.d_filters, self.d_batchnorm, self.init_std)
        self.finish_init()
