"""StyleGAN-lite: the StyleGAN2 ideas (Karras et al. 2019, 2020; StyleGAN2-ADA 2020) at small
resolutions and channel counts.

- Mapping network z -> w: normalised z, `mapping_layers` equalised dense layers with learning-rate
  multiplier 0.01; a tracked average of w (`w_average`) is the truncation trick's centre.
- Synthesis network from a learned 4x4 constant: per resolution, bilinear 2x upsampling, two
  modulated 3x3 convolutions with weight demodulation and per-layer noise of learned strength, and
  a to-RGB 1x1 modulated convolution whose outputs are summed across resolutions (skip outputs).
  It reads one w per layer from ws [batch, num_ws, w_dim] (style mixing swaps w at a crossover).
- Discriminator: residual blocks (skip 1x1 + two 3x3, average-pool downsampling, sum / sqrt 2),
  minibatch standard deviation at 4x4, then two dense layers.
- Non-saturating logistic loss with lazy R1 (gamma, every `r1_interval` steps, scaled by the
  interval; or every step on 1 / r1_interval of the batch, `r1_schedule="sub_batch"`), style
  mixing (probability 0.9), an EMA generator for sampling and export, equalised learning rate
  everywhere; path-length regularisation (`pl_weight`, lazy or `pl_schedule="sub_batch"`) and
  DiffAugment (`augment`) are options.

`generator` (what export, TFLite and the EMA copy use) is latent -> images with the constant noise
maps, so it is a pure function of the latent; training feeds fresh noise maps into `synthesis`.
"""

from __future__ import annotations

import itertools
import math

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from ganzoo import losses
from ganzoo.layers.diff_augment import DRAWS_PER_IMAGE, diff_augment, parse_policy
from ganzoo.layers.style import (
    ConstantInput,
    ConstantNoise,
    EqualizedConv2D,
    EqualizedDense,
    MinibatchStdDev,
    ModulatedConv2D,
    NoiseInjection,
    NormalizeLatent,
    WAverage,
    broadcast_ws,
)
from ganzoo.models.base import LatentGAN
from ganzoo.registry import register_model

# Style streams (see `_style_draw`): one block of ids per critic update (`stream`).
MIX_LATENT, MIX_DRAWS, AUGMENT, PL_LATENT, PL_IMAGE_NOISE, NOISE = 0, 1, 2, 3, 4, 8
STYLE_STREAMS = 64
SCHEDULES = ("lazy", "sub_batch")  # of R1 and of path length: see StyleGANLite.discriminator_regularizer
PL_BLOCK = 40  # the path-length pass's noise maps: a block no critic update uses (d_steps <= 32)


def resolutions(image_shape) -> list[int]:
    """4, 8, ..., image size (square, a power of two, at least 8)."""
    size = int(image_shape[0])
    if image_shape[1] != size or size < 8 or size & (size - 1):
        raise ValueError(f"stylegan_lite needs square images of a power-of-two size >= 8, got {tuple(image_shape)}")
    return [2**k for k in range(2, int(math.log2(size)) + 1)]


def num_ws(image_shape) -> int:
    """One w per modulated conv (1 at 4x4, 2 per later resolution) plus the last to-RGB."""
    return 2 * len(resolutions(image_shape))


def noise_sizes(image_shape) -> list[int]:
    """The resolution of each noise input, in layer order."""
    sizes = resolutions(image_shape)
    return [sizes[0]] + [r for r in sizes[1:] for _ in range(2)]


def build_mapping(latent_dim: int, w_dim: int, depth: int, lr_multiplier: float) -> keras.Model:
    z = keras.Input((latent_dim,), name="latent")
    x = NormalizeLatent(name="normalize")(z)
    for i in range(depth):
        x = EqualizedDense(w_dim, lr_multiplier=lr_multiplier, activation="lrelu", name=f"dense{i}")(x)
    return keras.Model(z, x, name="mapping")


def build_synthesis(w_dim: int, image_shape, channels) -> keras.Model:
    sizes = resolutions(image_shape)
    if len(channels) != len(sizes):
        raise ValueError(f"channels needs one entry per resolution {sizes}, got {tuple(channels)}")
    image_channels = int(image_shape[-1])
    ws = keras.Input((num_ws(image_shape), w_dim), name="ws")
    noises = [keras.Input((r, r, 1), name=f"noise{i}") for i, r in enumerate(noise_sizes(image_shape))]

    def conv(x, size, filters, index, name):
        x = ModulatedConv2D(filters, 3, w_index=index, name=f"b{size}_{name}")([x, ws])
        return NoiseInjection(name=f"b{size}_{name}_noise")([x, noises[index]])

    def to_rgb(x, size, index):
        return ModulatedConv2D(image_channels, 1, w_index=index, demodulate=False, dtype="float32", name=f"b{size}_torgb")([x, ws])

    # Under mixed precision the upsampling and the RGB skip path run in float32: XLA's gradient of
    # a bilinear resize of bfloat16 images mixes float32 into bfloat16 sums, which its CPU and GPU
    # compilers reject; StyleGAN2-ADA also accumulates the image in float32.
    x = conv(ConstantInput(channels[0], name="const")(ws), 4, channels[0], 0, "conv")
    image = to_rgb(x, 4, 1)
    for k, size in enumerate(sizes[1:], start=1):
        x = layers.UpSampling2D(2, interpolation="bilinear", dtype="float32", name=f"b{size}_up")(x)
        x = conv(x, size, channels[k], 2 * k - 1, "conv0")
        x = conv(x, size, channels[k], 2 * k, "conv1")
        image = layers.UpSampling2D(2, interpolation="bilinear", dtype="float32", name=f"b{size}_skip_up")(image)
        image = layers.Add(dtype="float32", name=f"b{size}_skip")([image, to_rgb(x, size, 2 * k + 1)])
    image = layers.Activation("linear", dtype="float32", name="images")(image)
    return keras.Model([ws, *noises], image, name="synthesis")


def build_style_generator(latent_dim: int, w_dim: int, depth: int, lr_multiplier: float, image_shape, channels) -> keras.Model:
    """latent -> mapping -> the same w for every layer -> synthesis with the constant noise maps."""
    latent = keras.Input((latent_dim,), name="latent")
    w = build_mapping(latent_dim, w_dim, depth, lr_multiplier)(latent)
    ws = layers.RepeatVector(num_ws(image_shape), name="broadcast")(w)
    noises = [ConstantNoise(size, seed=i, name=f"noise_const{i}")(latent) for i, size in enumerate(noise_sizes(image_shape))]
    images = build_synthesis(w_dim, image_shape, channels)([ws, *noises])
    return keras.Model(latent, images, name="generator")


def build_style_discriminator(image_shape, channels, mbstd_group: int = 4) -> keras.Model:
    sizes = resolutions(image_shape)
    images = keras.Input(tuple(image_shape), name="image")
    x = EqualizedConv2D(channels[-1], 1, activation="lrelu", name=f"b{sizes[-1]}_fromrgb")(images)
    for k in range(len(sizes) - 1, 0, -1):
        size, out = sizes[k], channels[k - 1]
        skip = layers.AveragePooling2D(2, name=f"b{size}_skip_pool")(x)
        skip = EqualizedConv2D(out, 1, use_bias=False, name=f"b{size}_skip")(skip)
        x = EqualizedConv2D(channels[k], 3, activation="lrelu", name=f"b{size}_conv0")(x)
        x = EqualizedConv2D(out, 3, activation="lrelu", name=f"b{size}_conv1")(x)
        x = layers.AveragePooling2D(2, name=f"b{size}_pool")(x)
        x = layers.Rescaling(1 / math.sqrt(2), name=f"b{size}_residual")(layers.Add(name=f"b{size}_add")([x, skip]))
    x = MinibatchStdDev(mbstd_group, name="mbstd")(x)
    x = EqualizedConv2D(channels[0], 3, activation="lrelu", name="b4_conv")(x)
    x = layers.Flatten(name="flatten")(x)
    x = EqualizedDense(channels[0], activation="lrelu", name="b4_dense")(x)
    logits = layers.Activation("linear", dtype="float32", name="logit_f32")(EqualizedDense(1, name="logit")(x))
    return keras.Model(images, logits, name="discriminator")


def mix_styles(w_first, w_second, cutoff, count: int):
    """ws [batch, count, w_dim]: w_first for layers < cutoff[b], w_second from cutoff[b] on."""
    second = ops.arange(count)[None, :] >= ops.cast(ops.reshape(cutoff, (-1, 1)), "int32")
    return ops.where(second[:, :, None], w_second[:, None, :], w_first[:, None, :])


@register_model("stylegan_lite")
class StyleGANLite(LatentGAN):
    """StyleGAN-lite: StyleGAN2's style-based generator at small sizes (Karras et al. 2019, 2020).

    Generator: latent [batch, latent_dim] -> mapping network -> w, one per layer -> synthesis from
    a learned 4x4 constant through modulated, demodulated 3x3 convolutions with per-layer noise
    and skip to-RGB outputs -> image [batch, H, W, C] (clipped to [-1, 1] for sampling).
    Discriminator: residual blocks with minibatch standard deviation -> logit. Lazy R1 (or, with
    `r1_schedule="sub_batch"`, R1 on a slice of every batch: no tf.cond for XLA), style mixing, an
    EMA generator, equalised learning rate; options `pl_weight` (path length, `pl_schedule` as R1's)
    and `augment` (DiffAugment). Truncation: `generate(n, seed=..., truncation_psi=0.7)`.

    Presets: `tiny` (16 px, for tests), `32` (32x32x3), `64` (64x64x3). `style_mix(...)`,
    `interpolation_strip(...)`; recipes: `recipes/stylegan_lite_fashion_mnist.toml`,
    `recipes/stylegan_lite_anime64.toml`.
    """

    task = "style"
    update_schemes = ("alternating",)  # its own train_step
    # Its lazy R1 / path-length steps are tf.cond branches full of convolutions, and without them
    # (r1_schedule / pl_schedule "sub_batch") XLA:CPU still trains 0.63x as fast as the graph with oneDNN.
    xla_slow_on_cpu = "XLA:CPU runs this model's conditional (lazy-regularizer) steps slowly"
    presets = {
        "tiny": dict(latent_dim=16, w_dim=16, mapping_layers=2, image_shape=(16, 16, 1), channels=(32, 16, 16),
                     r1_gamma=1.0, ema_decay=0.99),
        "32": dict(latent_dim=128, w_dim=128, mapping_layers=4, image_shape=(32, 32, 3), channels=(256, 256, 128, 64),
                   r1_gamma=0.05, ema_decay=0.999),
        "64": dict(latent_dim=256, w_dim=256, mapping_layers=4, image_shape=(64, 64, 3),
                   channels=(256, 256, 256, 128, 64), r1_gamma=0.1, ema_decay=0.999),
    }

    def __init__(
        self,
        latent_dim: int = 128,
        w_dim: int = 128,
        mapping_layers: int = 4,
        mapping_lr_multiplier: float = 0.01,
        image_shape=(32, 32, 3),
        channels=(256, 256, 128, 64),
        r1_gamma: float = 0.05,
        r1_interval: int = 16,
        r1_schedule: str = "lazy",
        style_mixing_prob: float = 0.9,
        w_avg_beta: float = 0.995,
        pl_weight: float = 0.0,
        pl_interval: int = 4,
        pl_schedule: str = "lazy",
        augment: str = "",
        mbstd_group: int = 4,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.latent_dim, self.w_dim, self.mapping_layers = int(latent_dim), int(w_dim), int(mapping_layers)
        self.mapping_lr_multiplier = float(mapping_lr_multiplier)
        self.channels = tuple(int(c) for c in channels)
        self.r1_gamma, self.r1_interval, self.r1_schedule = float(r1_gamma), int(r1_interval), str(r1_schedule)
        self.pl_schedule = str(pl_schedule)
        for name, value in (("r1_schedule", self.r1_schedule), ("pl_schedule", self.pl_schedule)):
            if value not in SCHEDULES:
                raise ValueError(f"{name} must be one of {', '.join(SCHEDULES)}, got {value!r}")
        self.style_mixing_prob, self.w_avg_beta = float(style_mixing_prob), float(w_avg_beta)
        self.pl_weight, self.pl_interval = float(pl_weight), int(pl_interval)
        self.augment, self.augment_policy = augment, parse_policy(augment)
        self.mbstd_group = int(mbstd_group)
        if self.r1_interval < 1 or self.pl_interval < 1:
            raise ValueError("r1_interval and pl_interval must be >= 1")
        if not 0.0 <= self.style_mixing_prob <= 1.0:
            raise ValueError(f"style_mixing_prob must be in [0, 1], got {style_mixing_prob}")
        self.num_ws = num_ws(image_shape)
        self.generator = build_style_generator(self.latent_dim, self.w_dim, self.mapping_layers, self.mapping_lr_multiplier,
                                               tuple(image_shape), self.channels)
        self.discriminator = build_style_discriminator(tuple(image_shape), self.channels, self.mbstd_group)
        self.w_average = WAverage(self.w_dim, self.w_avg_beta, name="w_average")
        self.pl_mean = self.add_weight(name="pl_mean", shape=(), initializer="zeros", trainable=False, aggregation="mean")
        self.r1_tracker = keras.metrics.Mean(name="r1_penalty")
        self.pl_tracker = keras.metrics.Mean(name="pl_penalty")
        self.finish_init()

    # ------------------------------------------------------------ networks
    @staticmethod
    def parts(generator: keras.Model) -> tuple[keras.Model, keras.Model, list]:
        """(mapping, synthesis, constant-noise layers) of a generator built here (or its EMA copy)."""
        noise_layers = [layer for layer in generator.layers if isinstance(layer, ConstantNoise)]
        return generator.get_layer("mapping"), generator.get_layer("synthesis"), noise_layers

    def checkpoint_objects(self):
        return {**super().checkpoint_objects(), "w_average": self.w_average, "pl_mean": self.pl_mean}

    @property
    def metrics(self) -> list:
        trackers = super().metrics + [self.r1_tracker]
        return trackers + [self.pl_tracker] if self.pl_weight else trackers

    # ------------------------------------------------------------ randomness
    def _style_draw(self, shape_tail, local_batch, stream: int, kind: str = "normal"):
        """The base's stateless draws, in this model's own stream ids (the ids below)."""
        return self.draw(shape_tail, local_batch, stream, kind, own_streams=True)

    def training_noise(self, local_batch, stream: int = 0) -> list:
        return [self._style_draw([r, r, 1], local_batch, STYLE_STREAMS * stream + NOISE + i)
                for i, r in enumerate(noise_sizes(self.image_shape))]

    def augment_images(self, images, stream: int):
        if not self.augment_policy:
            return images
        draws = self._style_draw([DRAWS_PER_IMAGE], ops.shape(images)[0], stream, kind="uniform")
        return diff_augment(images, draws, self.augment_policy)

    # ------------------------------------------------------------ train step
    def synthesize_for_training(self, local_batch, stream: int = 0):
        """Fakes from fresh latents and noise maps, with style mixing: (images, w of the first latents)."""
        mapping, synthesis, _ = self.parts(self.generator)
        w = mapping(self.draw_latents(local_batch, stream), training=True)
        ws = broadcast_ws(w, self.num_ws)
        if self.style_mixing_prob:
            base = STYLE_STREAMS * stream
            w_second = mapping(self._style_draw([self.latent_dim], local_batch, base + MIX_LATENT), training=True)
            draws = self._style_draw([2], local_batch, base + MIX_DRAWS, kind="uniform")
            cutoff = 1 + ops.floor(draws[:, 1] * (self.num_ws - 1))  # uniform in 1 .. num_ws - 1
            cutoff = ops.where(draws[:, 0] < self.style_mixing_prob, cutoff, float(self.num_ws))
            ws = mix_styles(w, w_second, cutoff, self.num_ws)
        images = synthesis([ws, *self.training_noise(local_batch, stream)], training=True)
        return ops.cast(images, "float32"), w

    def is_every(self, interval: int):
        return ops.equal(self.g_optimizer.iterations % interval, 0)

    def critic_view(self, images, stream: int, fake: bool):
        return self.augment_images(images, STYLE_STREAMS * stream + AUGMENT + (32 if fake else 0))

    def r1_sub_batch(self, real) -> int:
        """How many real images the sub-batch R1 judges each step: 1 / r1_interval of the batch,
        rounded up to whole minibatch-std groups (one group where the batch size is not static).
        Each replica takes them from its own slice, so unlike the path-length sub-batch (a slice
        of one global draw) one device and several judge different images (the same expectation)."""
        batch = real.shape[0]
        wanted = -(-batch // self.r1_interval) if batch is not None else 1
        size = -(-wanted // self.mbstd_group) * self.mbstd_group
        return min(size, batch) if batch is not None else size

    def discriminator_regularizer(self, critic, real, local_batch):
        """R1, gamma / 2 * ||grad D(real)||^2 per example, on one of two schedules with the same
        expected gradient and about the same cost. "lazy" (StyleGAN2 appendix B): every
        `r1_interval` steps on the whole batch, times r1_interval, zeros on the other steps; a
        tf.cond, which XLA:CPU runs ~80x slowly (benchmarks/RESULTS.md). "sub_batch": every step on
        the first `r1_sub_batch` images, weighted as the whole batch: no control flow."""
        if not self.r1_gamma:
            return None
        if self.r1_schedule == "sub_batch":
            size = self.r1_sub_batch(real)
            r1 = losses.r1_penalty(critic, real[:size])
            self.r1_tracker.update_state(r1)
            weight = ops.cast(local_batch, "float32") / size  # the batch mean of this vector is r1's mean
            return (self.r1_gamma / 2) * ops.concatenate([r1 * weight, ops.zeros([local_batch - size])], axis=0)
        r1_step = self.is_every(self.r1_interval)
        r1 = tf.cond(r1_step, lambda: losses.r1_penalty(critic, real), lambda: tf.zeros([local_batch]))
        self.r1_tracker.update_state(r1, sample_weight=ops.cast(r1_step, "float32") * ops.ones_like(r1))
        return (self.r1_gamma / 2 * self.r1_interval) * r1

    def generator_loss(self, fake, batch, labels=None):
        per_example = self.adversarial.generator(self.discriminate(self.augment_images(fake, AUGMENT + 40)))
        return per_example, self.g_optimizer.scale_loss(self.scale_loss(per_example, batch))

    def path_lengths(self, count):
        """|J_w^T y| per example (StyleGAN2 sec. 3.2), y image-shaped N(0, 1) / sqrt(pixels), from
        its own forward pass of `count` fresh latents per replica."""
        mapping, synthesis, _ = self.parts(self.generator)
        w = mapping(self._style_draw([self.latent_dim], count, PL_LATENT), training=True)
        # float32 under mixed precision too: the lengths meet float32 state (the running mean).
        ws = ops.cast(broadcast_ws(w, self.num_ws), "float32")
        with tf.GradientTape() as tape:
            tape.watch(ws)
            images = ops.cast(synthesis([ws, *self.training_noise(count, PL_BLOCK)], training=True), "float32")
            height, width = self.image_shape[:2]
            y = self._style_draw(list(self.image_shape), count, PL_IMAGE_NOISE) / math.sqrt(height * width)
            projected = ops.sum(images * y)
        grads = tape.gradient(projected, ws)
        return ops.sqrt(ops.mean(ops.sum(ops.square(grads), axis=2), axis=1))

    def path_length_penalty(self, local_batch):
        """(pl_weight * (length - a)^2 per example of the batch, weighted so that the batch mean is
        the regulariser; the new a, the lengths' running mean over the global batch, so replicas
        agree on it; the step's (length - a)^2 and their weights, for the log). Schedules as R1's:
        "lazy" every pl_interval steps on the whole batch, times pl_interval (a tf.cond);
        "sub_batch" every step on batch / pl_interval fresh latents, weighted as the whole batch,
        a's rate divided by pl_interval so that it averages over as many steps."""
        if self.pl_schedule == "sub_batch":
            size = (local_batch + self.pl_interval - 1) // self.pl_interval
            lengths = self.path_lengths(size)
            rate, computed = 0.01 / self.pl_interval, ops.ones([size])
            weight = self.pl_weight * ops.cast(local_batch, "float32") / ops.cast(size, "float32")
        else:
            size, pl_step = local_batch, self.is_every(self.pl_interval)
            lengths = tf.cond(pl_step, lambda: self.path_lengths(local_batch), lambda: tf.zeros([local_batch]))
            rate, computed = ops.where(pl_step, 0.01, 0.0), ops.cast(pl_step, "float32") * ops.ones([size])
            weight = self.pl_weight * self.pl_interval * computed
        # The all-reduce stays outside the branch: a cross-replica sum cannot sit in control flow.
        total = tf.distribute.get_replica_context().all_reduce("sum", ops.sum(ops.stop_gradient(lengths)))
        target = self.pl_mean + rate * (total / ops.cast(self._global_batch(size), "float32") - self.pl_mean)
        penalty = ops.square(lengths - target)
        weighted = ops.concatenate([weight * penalty, ops.zeros([local_batch - size])], axis=0)
        return weighted, target, (penalty, computed)

    def train_step(self, data):
        real, _ = self.split_batch(data)
        batch = ops.shape(real)[0]
        for extra in range(1, self.d_steps):  # WGAN-style extra critic updates, each on fresh fakes
            self.discriminator_step(real, self.synthesize_for_training(batch, extra)[0], None, extra)
        with tf.GradientTape() as g_tape:
            fake, w = self.synthesize_for_training(batch)
            with g_tape.stop_recording():
                self.discriminator_step(real, fake)
            g_per_example, g_loss = self.generator_loss(fake, batch)
            if self.pl_weight:
                penalty, pl_mean, logged = self.path_length_penalty(batch)
                g_loss = g_loss + self.g_optimizer.scale_loss(self.scale_loss(penalty, batch))
        if self.pl_weight:
            self.pl_tracker.update_state(*logged)
        self.generator_update(g_tape, g_per_example, g_loss)
        if self.pl_weight:
            self.pl_mean.assign(pl_mean)
        self.w_average.track(w)
        if self.ema_generator is not None:
            self.update_ema()
        return self.training_logs()

    # ------------------------------------------------------------- inference
    def generate_fake(self, latents, labels=None, training=True, generator=None):
        images = super().generate_fake(latents, labels, training, generator)
        # The synthesis output is linear (as in StyleGAN2); images for people are clipped to [-1, 1].
        return images if training else ops.clip(images, -1.0, 1.0)

    def mapped(self, latents, truncation_psi=1.0, generator=None):
        """w [N, w_dim] for latents, pulled toward the tracked average by truncation_psi."""
        mapping = self.parts(generator or self.sampling_generator)[0]
        w = mapping(ops.convert_to_tensor(latents, "float32"), training=False)
        return w if truncation_psi == 1.0 else self.w_average(w, truncation_psi=truncation_psi)

    def noise_maps(self, count: int, noise_mode: str = "const", seed: int = 0, generator=None) -> list:
        """The synthesis noise inputs: the EMA generator's constant maps, or fresh N(0, 1) maps
        drawn from `seed` (noise_mode="random")."""
        if noise_mode == "const":
            return [ops.repeat(layer.noise, count, axis=0) for layer in self.parts(generator or self.sampling_generator)[2]]
        if noise_mode != "random":
            raise ValueError(f"noise_mode must be 'const' or 'random', got {noise_mode!r}")
        seeds = [tf.constant([seed, 1_000 + i], tf.int64) for i in range(len(noise_sizes(self.image_shape)))]
        return [tf.random.stateless_normal([count, r, r, 1], s) for r, s in zip(noise_sizes(self.image_shape), seeds)]

    def synthesize(self, ws, noise_mode: str = "const", seed: int = 0, generator=None) -> np.ndarray:
        """ws [N, num_ws, w_dim] -> images in [-1, 1] from the EMA synthesis network."""
        synthesis = self.parts(generator or self.sampling_generator)[1]
        ws = ops.convert_to_tensor(ws, "float32")
        images = synthesis([ws, *self.noise_maps(int(ws.shape[0]), noise_mode, seed, generator)], training=False)
        return ops.convert_to_numpy(ops.clip(ops.cast(images, "float32"), -1.0, 1.0))

    def generate(self, num_or_latents, seed: int | None = None, labels=None, batch_size: int = 256,
                 truncation_psi: float = 1.0, noise_mode: str = "const") -> np.ndarray:
        """Images in [-1, 1]; truncation_psi < 1 trades variety for typicality (0: the average
        image for every latent); noise_mode "random" draws the noise maps from `seed` too."""
        return super().generate(num_or_latents, seed, labels, batch_size, truncation_psi=truncation_psi, noise_mode=noise_mode)

    def generate_batch(self, latents, labels, offset: int, seed: int | None, truncation_psi: float = 1.0,
                       noise_mode: str = "const") -> np.ndarray:
        if truncation_psi == 1.0 and noise_mode == "const":
            return super().generate_batch(latents, labels, offset, seed)  # the exported generator, exactly
        ws = broadcast_ws(self.mapped(latents, truncation_psi), self.num_ws)
        return self.synthesize(ws, noise_mode, (seed or 0) + offset)  # random noise maps follow the seed

    def style_mix(self, row_seeds, column_seeds, crossover: int = 3, truncation_psi: float = 1.0) -> tuple[np.ndarray, int]:
        """A (rows + 1) x (columns + 1) grid: the top row the column seeds' images, the left column
        the row seeds' images, and inside, coarse styles (layers < crossover) from the row and fine
        styles from the column. Returns (images, columns) for `make_grid`; the corner is blank."""
        if not 1 <= crossover < self.num_ws:
            raise ValueError(f"crossover must be in [1, {self.num_ws - 1}], got {crossover}")
        ws = self.mapped(self.seed_latents([*row_seeds, *column_seeds]), truncation_psi)
        rows, cols = ws[:len(row_seeds)], ws[len(row_seeds):]
        pairs = len(row_seeds) * len(column_seeds)
        mixed = mix_styles(ops.repeat(rows, len(column_seeds), axis=0), ops.tile(cols, (len(row_seeds), 1)),
                           ops.full((pairs,), crossover), self.num_ws)
        # One synthesis call for the whole grid (a call per image: 0.8-0.9 s for the tiny preset's 4 x 4 panel).
        images = self.synthesize(ops.concatenate([broadcast_ws(ws, self.num_ws), mixed]))
        row_images, col_images, mixed_images = np.split(images, [len(row_seeds), len(ws)])
        grid = [np.full(self.image_shape, -1.0, np.float32), *col_images]
        for row, row_image in enumerate(row_images):
            grid += [row_image, *mixed_images[row * len(column_seeds):(row + 1) * len(column_seeds)]]
        return np.stack(grid), len(column_seeds) + 1

    def interpolation_strip(self, seeds, steps: int = 8, truncation_psi: float = 1.0) -> tuple[np.ndarray, int]:
        """Frames along straight lines in w between consecutive seeds (one row per pair)."""
        if len(seeds) < 2 or steps < 2:
            raise ValueError("an interpolation needs at least 2 seeds and 2 steps")
        ws = ops.convert_to_numpy(self.mapped(self.seed_latents(seeds), truncation_psi))
        t = np.linspace(0.0, 1.0, steps, dtype=np.float32)[:, None]
        lines = np.concatenate([(1 - t) * a + t * b for a, b in itertools.pairwise(ws)])
        return self.synthesize(broadcast_ws(lines, self.num_ws)), steps

    def seed_latents(self, seeds):
        """[len(seeds), latent_dim]: each seed's latent, as `sample_latents(1, seed)` draws it."""
        return ops.concatenate([self.sample_latents(1, seed) for seed in seeds])
