"""3D-GAN (Wu, Zhang, Xue, Freeman & Tenenbaum 2016): volumetric shapes from a latent vector.

Generator: latent -> Dense to a (s, s, s, f0) grid -> stride-2 transposed 3D convolutions with
batch norm and ReLU -> sigmoid occupancy [batch, D, H, W, 1] in [0, 1]. Discriminator: stride-2
3D convolutions with LeakyReLU(0.2) (batch norm after the first) -> optionally the minibatch
standard deviation -> one logit.

The paper's adaptive discriminator update: the D step is skipped while D's accuracy on the
batch (real logits > 0, fake logits < 0, over the global batch) is above a threshold (0.8),
so the generator catches up. The skip is made without a branch: D and its optimizer are
updated, then put back where the step was skipped (a `tf.cond` around `apply_gradients` does
not work in a replica context of a distribution strategy); every replica sees the same
all-reduced accuracy, so replicas stay in sync.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers, ops

from ganzoo import losses
from ganzoo.layers import MinibatchStdDev
from ganzoo.models.base import LatentGAN
from ganzoo.models.dcgan import initializers
from ganzoo.registry import register_model


def build_gan3d_generator(latent_dim: int, volume_size: int, filters, init_std: float = 0.02) -> keras.Model:
    stages = len(filters)
    if volume_size % 2**stages:
        raise ValueError(f"volume_size {volume_size} is not divisible by 2^{stages} (len(g_filters))")
    base = volume_size // 2**stages
    kernel_init, bn_init = initializers(init_std)
    latents = keras.Input((latent_dim,), name="latent")
    x = layers.Dense(base**3 * filters[0], use_bias=False, name="project", **kernel_init)(latents)
    x = layers.BatchNormalization(synchronized=True, name="project_bn", **bn_init)(x)
    x = layers.ReLU(name="project_relu")(x)
    x = layers.Reshape((base, base, base, filters[0]), name="project_reshape")(x)
    for i, f in enumerate(filters[1:], start=1):
        x = layers.Conv3DTranspose(f, 4, strides=2, padding="same", use_bias=False, name=f"up{i}", **kernel_init)(x)
        x = layers.BatchNormalization(synchronized=True, name=f"up{i}_bn", **bn_init)(x)
        x = layers.ReLU(name=f"up{i}_relu")(x)
    x = layers.Conv3DTranspose(1, 4, strides=2, padding="same", name="to_volume", **kernel_init)(x)
    occupancy = layers.Activation("sigmoid", dtype="float32", name="occupancy")(x)
    return keras.Model(latents, occupancy, name="generator")


def build_gan3d_discriminator(volume_size: int, filters, init_std: float = 0.02, minibatch_std_group: int = 0) -> keras.Model:
    kernel_init, bn_init = initializers(init_std)
    volumes = keras.Input((volume_size,) * 3 + (1,), name="volume")
    x = volumes
    for i, f in enumerate(filters):
        x = layers.Conv3D(f, 4, strides=2, padding="same", use_bias=not i, name=f"down{i}", **kernel_init)(x)
        if i:
            x = layers.BatchNormalization(synchronized=True, name=f"down{i}_bn", **bn_init)(x)
        x = layers.LeakyReLU(0.2, name=f"down{i}_lrelu")(x)
    if minibatch_std_group:
        x = MinibatchStdDev(minibatch_std_group, name="mbstd")(x)
    x = layers.Flatten(name="flatten")(x)
    logits = layers.Dense(1, dtype="float32", name="logit", **kernel_init)(x)
    return keras.Model(volumes, logits, name="discriminator")


@register_model("gan3d")
class GAN3D(LatentGAN):
    """3D-GAN: occupancy grids [batch, R, R, R, 1] in [0, 1] from latent noise.

    Presets: `tiny` (8^3, for tests), `32` (32^3, trains on a CPU), `64` (the paper's 64^3,
    latent 200, 512-256-128-64 filters, for GPUs). Train with `compile()` + `fit(volumes)` on
    batches of occupancy in [0, 1]; sample with `generate(n, seed=...)`; recipe:
    `recipes/gan3d_shapes32.toml`. `adaptive_d_threshold` (0.8 in the paper; 0 = off) skips the
    discriminator step while its batch accuracy is above it. `minibatch_std_group` (0 = off, as
    in the paper) gives D the features' standard deviation over groups of that many shapes
    (Karras et al. 2018), so a generator collapsing to one shape is told apart. `r1_gamma` (0 =
    off, as in the paper) adds R1 (Mescheder et al. 2018), gamma / 2 * ||grad D(real)||^2, to
    every discriminator step.
    """

    task = "volume"
    update_schemes = ("alternating",)
    # Preset 32, batch 32, on a 2-core AVX2 CPU (no oneDNN), where "auto" would pick XLA: 0.5
    # shapes/s under XLA against 20.9 in the graph.
    xla_slow_on_cpu = "XLA:CPU trains this model ~40x slower than the graph"
    presets = {
        "tiny": dict(latent_dim=16, volume_size=8, g_filters=(16, 8), d_filters=(8, 16)),
        "32": dict(latent_dim=128, volume_size=32, g_filters=(128, 64, 32), d_filters=(32, 64, 128), adaptive_d_threshold=0.8),
        "64": dict(latent_dim=200, volume_size=64, g_filters=(512, 256, 128, 64), d_filters=(64, 128, 256, 512),
                   adaptive_d_threshold=0.8),
    }

    def __init__(
        self,
        latent_dim: int = 200,
        volume_size: int = 64,
        g_filters=(512, 256, 128, 64),
        d_filters=(64, 128, 256, 512),
        adaptive_d_threshold: float = 0.0,
        minibatch_std_group: int = 0,
        r1_gamma: float = 0.0,
        init_std: float = 0.02,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not 0.0 <= adaptive_d_threshold <= 1.0:
            raise ValueError(f"adaptive_d_threshold must be in [0, 1] (0: always update D), got {adaptive_d_threshold}")
        self.latent_dim = int(latent_dim)
        self.volume_size = int(volume_size)
        self.g_filters = tuple(int(f) for f in g_filters)
        self.d_filters = tuple(int(f) for f in d_filters)
        self.adaptive_d_threshold = float(adaptive_d_threshold)
        if minibatch_std_group < 0:
            raise ValueError(f"minibatch_std_group must be >= 0 (0: off), got {minibatch_std_group}")
        self.minibatch_std_group = int(minibatch_std_group)
        if not r1_gamma >= 0:
            raise ValueError(f"r1_gamma must be >= 0 (0: off), got {r1_gamma}")
        self.r1_gamma = float(r1_gamma)
        self.init_std = float(init_std)
        self.generator = build_gan3d_generator(self.latent_dim, self.volume_size, self.g_filters, self.init_std)
        self.discriminator = build_gan3d_discriminator(
            self.volume_size, self.d_filters, self.init_std, self.minibatch_std_group
        )
        self.d_accuracy_tracker = keras.metrics.Mean(name="d_accuracy")
        self.d_updated_tracker = keras.metrics.Mean(name="d_updated")  # the share of steps that updated D
        self.r1_tracker = keras.metrics.Mean(name="r1_penalty")
        self.finish_init()

    @property
    def image_shape(self) -> tuple[int, ...]:
        """[D, H, W, 1]: what one sample is (the shared contract calls it the image shape)."""
        return (self.volume_size,) * 3 + (1,)

    @property
    def metrics(self) -> list:
        trackers = super().metrics + [self.d_accuracy_tracker, self.d_updated_tracker]
        return trackers + [self.r1_tracker] if self.r1_gamma else trackers

    def discriminator_regularizer(self, critic, real, local_batch):
        if not self.r1_gamma:
            return None
        r1 = losses.r1_penalty(critic, real)
        self.r1_tracker.update_state(r1)
        return (self.r1_gamma / 2) * r1

    def discriminator_step(self, real, fake, labels=None, stream: int = 0):
        """One discriminator update, kept only while D's global-batch accuracy is at or below the
        threshold (always with the threshold 0)."""
        if not self.adaptive_d_threshold:
            with tf.GradientTape() as tape:
                per_example, real_logits, fake_logits = self.discriminator_loss(real, fake, labels, stream)
                loss = self.d_optimizer.scale_loss(self.scale_loss(per_example, ops.shape(real)[0]))
            self.apply_gradients(tape, loss, self.discriminator_variables(), self.d_optimizer)
            self.track_discriminator(per_example, real_logits, fake_logits)
            self.d_accuracy_tracker.update_state(self.correct(real_logits, fake_logits))
            self.d_updated_tracker.update_state(1.0)
            return
        with tf.GradientTape() as tape:
            per_example, real_logits, fake_logits = self.discriminator_loss(real, fake, labels, stream)
            loss = self.d_optimizer.scale_loss(self.scale_loss(per_example, ops.shape(real)[0]))
        correct = self.correct(real_logits, fake_logits)
        accuracy = self.global_mean(correct)
        update = accuracy <= self.adaptive_d_threshold
        # Only what apply_gradients changes is put back: weights and optimizer state.
        state = self.discriminator_variables() + list(self.d_optimizer.variables)
        before = [tf.identity(v) for v in state]
        self.apply_gradients(tape, loss, self.discriminator_variables(), self.d_optimizer)
        for variable, value in zip(state, before):
            variable.assign(tf.where(update, variable, value))
        self.track_discriminator(per_example, real_logits, fake_logits)
        self.d_accuracy_tracker.update_state(correct)
        self.d_updated_tracker.update_state(ops.cast(update, "float32"))

    @staticmethod
    def correct(real_logits, fake_logits):
        """Per example: the share of its real and fake logits on the right side of 0."""
        real_ok = ops.cast(losses.per_example(real_logits) > 0, "float32")
        fake_ok = ops.cast(losses.per_example(fake_logits) < 0, "float32")
        return (real_ok + fake_ok) / 2

    def global_mean(self, per_example):
        """Mean over the global batch, the same on every replica."""
        total = ops.stack([ops.sum(per_example), ops.cast(ops.shape(per_example)[0], "float32")])
        context = tf.distribute.get_replica_context()
        if context is not None and self.distribute_strategy.num_replicas_in_sync > 1:
            total = context.all_reduce(tf.distribute.ReduceOp.SUM, total)
        return total[0] / total[1]

    # ------------------------------------------------------------------ sampling helpers
    def interpolation_strip(self, seeds, steps: int, truncation_psi: float = 1.0):
        """Shaded renders of the shapes along straight lines in latent space between consecutive
        seeds' latents: one row of `steps` per pair ([rows * steps, S, S, 1] in [-1, 1], columns)."""
        import numpy as np

        from ganzoo.volumes import render_numpy

        if truncation_psi != 1.0:
            raise ValueError("gan3d has no truncation (it has no mapping network)")
        if len(seeds) < 2:
            raise ValueError("give at least two seeds to interpolate between")
        ends = np.concatenate([self.sample_latents(1, seed) for seed in seeds])
        weights = np.linspace(0.0, 1.0, steps, dtype=np.float32)[:, None]
        latents = np.concatenate([(1 - weights) * a + weights * b for a, b in zip(ends[:-1], ends[1:])])
        return render_numpy(self.generate(latents)), steps
