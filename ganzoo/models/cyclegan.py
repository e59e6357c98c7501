"""CycleGAN (Zhu et al. 2017): unpaired translation between domains A and B.

Two ResNet generators, G: A -> B (`generator`) and F: B -> A (`generator_ba`) — reflection
padding, instance normalisation, two stride-2 downsamplings, residual blocks, two transposed-conv
upsamplings — and two 70x70 PatchGAN discriminators, D_B (`discriminator`) and D_A
(`discriminator_a`). One `train_step` updates all four: the generators on LSGAN + lambda x cycle
(L1) + identity_weight x lambda x identity (L1), then the discriminators on real images against a
history pool of earlier fakes. Data are (A batch, B batch) pairs drawn independently.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from ganzoo import losses
from ganzoo.errors import GanzooError
from ganzoo.images import to_signed, to_uint8
from ganzoo.layers import ImagePool, InstanceNormalization, ReflectionPadding2D
from ganzoo.layers.normalization import Moments
from ganzoo.models.base import GAN
from ganzoo.registry import register_model

DOWNSAMPLINGS = 2  # H and W must be multiples of 2^2 = 4
POOL_STREAM_A, POOL_STREAM_B = 1, 2


def conv_norm_relu(x, filters: int, kernel: int, strides: int, name: str, transpose: bool = False):
    conv = layers.Conv2DTranspose if transpose else layers.Conv2D
    x = conv(filters, kernel, strides=strides, padding="same", name=f"{name}_conv")(x)
    x = InstanceNormalization(name=f"{name}_norm")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def residual_block(x, filters: int, name: str):
    skip = x
    x = ReflectionPadding2D(1, name=f"{name}_pad1")(x)
    x = layers.Conv2D(filters, 3, name=f"{name}_conv1")(x)
    x = InstanceNormalization(name=f"{name}_norm1")(x)
    x = layers.ReLU(name=f"{name}_relu")(x)
    x = ReflectionPadding2D(1, name=f"{name}_pad2")(x)
    x = layers.Conv2D(filters, 3, name=f"{name}_conv2")(x)
    x = InstanceNormalization(name=f"{name}_norm2")(x)
    return layers.Add(name=f"{name}_add")([skip, x])


def build_resnet_generator(filters: int, blocks: int, channels: int, name: str) -> keras.Model:
    """[-1, 1] images of any size divisible by 4 -> same size, tanh (the paper's c7s1-64, d128,
    d256, R256 x blocks, u128, u64, c7s1-3 at filters=64)."""
    image = keras.Input((None, None, channels), name="image")
    x = ReflectionPadding2D(3, name="head_pad")(image)
    x = layers.Conv2D(filters, 7, name="head_conv")(x)
    x = layers.ReLU(name="head_relu")(InstanceNormalization(name="head_norm")(x))
    for i in range(1, DOWNSAMPLINGS + 1):
        x = conv_norm_relu(x, filters * 2**i, 3, 2, f"down{i}")
    for i in range(blocks):
        x = residual_block(x, filters * 2**DOWNSAMPLINGS, f"res{i}")
    for i in range(1, DOWNSAMPLINGS + 1):
        x = conv_norm_relu(x, filters * 2 ** (DOWNSAMPLINGS - i), 3, 2, f"up{i}", transpose=True)
    x = ReflectionPadding2D(3, name="tail_pad")(x)
    x = layers.Conv2D(channels, 7, name="tail_conv")(x)
    return keras.Model(image, layers.Activation("tanh", dtype="float32", name="tanh")(x), name=name)


def build_patch_discriminator(filters: int, channels: int, name: str) -> keras.Model:
    """70x70 PatchGAN: C64-C128-C256-C512 (4x4 convs, the first three stride 2, instance norm
    after the first), then a 1-channel map of logits, one per overlapping 70x70 patch."""
    image = keras.Input((None, None, channels), name="image")
    x = layers.Conv2D(filters, 4, strides=2, padding="same", name="c0_conv")(image)
    x = layers.LeakyReLU(0.2, name="c0_lrelu")(x)
    for i, (mult, strides) in enumerate(((2, 2), (4, 2), (8, 1)), start=1):
        x = layers.Conv2D(filters * mult, 4, strides=strides, padding="same", name=f"c{i}_conv")(x)
        x = InstanceNormalization(name=f"c{i}_norm")(x)
        x = layers.LeakyReLU(0.2, name=f"c{i}_lrelu")(x)
    logits = layers.Conv2D(1, 4, padding="same", dtype="float32", name="logits")(x)
    return keras.Model(image, logits, name=name)


@register_model("cyclegan")
class CycleGAN(GAN):
    """CycleGAN: unpaired image-to-image translation between domains A and B (Zhu et al. 2017).

    Two ResNet generators, G: A -> B and F: B -> A (reflection padding, instance norm, two
    stride-2 stages, `blocks` residual blocks): image [batch, h, w, C] in [-1, 1] with h, w
    multiples of 4 -> image of the same size. Two 70x70 PatchGAN discriminators. Losses: LSGAN +
    10 x cycle L1 + 5 x identity L1; discriminators learn from a history pool of 50 fakes.
    Data: (A batch, B batch) pairs drawn independently.

    Presets: `tiny` (32 px, for tests), `64` (6 blocks), `256` (9 blocks, the paper's). `translate
    (images, "a2b")`, `translate_any_size(image)`; recipes: `recipes/cyclegan_face2anime.toml`,
    `recipes/cyclegan_horse2zebra.toml`.
    """

    task = "translation"
    presets = {
        "tiny": dict(image_size=32, filters=8, blocks=2, d_filters=8, pool_size=8),
        "64": dict(image_size=64, filters=64, blocks=6, d_filters=64),
        "256": dict(image_size=256, filters=64, blocks=9, d_filters=64),
    }

    def __init__(self, image_size: int = 256, channels: int = 3, filters: int = 64, blocks: int = 9, d_filters: int = 64,
                 cycle_weight: float = 10.0, identity_weight: float = 0.5, pool_size: int = 50, **kwargs):
        super().__init__(**kwargs)
        if image_size % 2**DOWNSAMPLINGS:
            raise ValueError(f"image_size must be a multiple of {2**DOWNSAMPLINGS}, got {image_size}")
        self.image_size, self.channels = int(image_size), int(channels)
        self.filters, self.blocks, self.d_filters = int(filters), int(blocks), int(d_filters)
        self.cycle_weight, self.identity_weight, self.pool_size = float(cycle_weight), float(identity_weight), int(pool_size)
        self.generator = build_resnet_generator(self.filters, self.blocks, self.channels, "generator_ab")
        self.generator_ba = build_resnet_generator(self.filters, self.blocks, self.channels, "generator_ba")
        self.discriminator = build_patch_discriminator(self.d_filters, self.channels, "discriminator_b")
        self.discriminator_a = build_patch_discriminator(self.d_filters, self.channels, "discriminator_a")
        self.pool_a, self.pool_b = ImagePool(self.pool_size, name="pool_a"), ImagePool(self.pool_size, name="pool_b")
        for pool in (self.pool_a, self.pool_b):
            pool.build((None, self.image_size, self.image_size, self.channels))
        self.adversarial = losses.get_adversarial_loss("lsgan")
        self.cycle_tracker = keras.metrics.Mean(name="cycle_loss")
        self.identity_tracker = keras.metrics.Mean(name="identity_loss")
        self.finish_init()

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (self.image_size, self.image_size, self.channels)

    def compile(self, *args, **kwargs) -> None:
        super().compile(*args, **kwargs)
        self.adversarial = losses.get_adversarial_loss("lsgan")  # the paper's loss, whatever the recipe says

    def generator_variables(self) -> list:
        return self.generator.trainable_variables + self.generator_ba.trainable_variables

    def discriminator_variables(self) -> list:
        return self.discriminator.trainable_variables + self.discriminator_a.trainable_variables

    def checkpoint_objects(self) -> dict:
        return {**super().checkpoint_objects(), "generator_ba": self.generator_ba, "discriminator_a": self.discriminator_a,
                "pool_a": self.pool_a, "pool_b": self.pool_b}

    @property
    def metrics(self) -> list:
        return [self.d_loss_tracker, self.g_loss_tracker, self.cycle_tracker, self.identity_tracker]

    # ------------------------------------------------------------- train step
    def train_step(self, data):
        real_a, real_b = data[0], data[1]
        batch = ops.shape(real_a)[0]
        d_a = lambda images: self.discriminate(images, discriminator=self.discriminator_a)
        d_b = lambda images: self.discriminate(images, discriminator=self.discriminator)
        with tf.GradientTape() as g_tape:
            fake_b = self.generate_fake(real_a, generator=self.generator)
            fake_a = self.generate_fake(real_b, generator=self.generator_ba)
            cycle = (losses.mean_absolute_error(real_a, self.generate_fake(fake_b, generator=self.generator_ba))
                     + losses.mean_absolute_error(real_b, self.generate_fake(fake_a, generator=self.generator)))
            identity = 0.0
            if self.identity_weight:
                identity = (losses.mean_absolute_error(real_a, self.generate_fake(real_a, generator=self.generator_ba))
                            + losses.mean_absolute_error(real_b, self.generate_fake(real_b, generator=self.generator)))
            adversarial = losses.least_squares_generator(d_b(fake_b)) + losses.least_squares_generator(d_a(fake_a))
            per_example = adversarial + self.cycle_weight * (cycle + self.identity_weight * identity)
            g_loss = self.g_optimizer.scale_loss(self.scale_loss(per_example, batch))
        self.generator_update(g_tape, per_example, g_loss)
        self.cycle_tracker.update_state(cycle)
        if self.identity_weight:
            self.identity_tracker.update_state(identity)

        # Each discriminator learns from real images against a history of its domain's fakes.
        pooled_b = self.pool_b(ops.stop_gradient(fake_b), self._step_seed(POOL_STREAM_B))
        pooled_a = self.pool_a(ops.stop_gradient(fake_a), self._step_seed(POOL_STREAM_A))
        with tf.GradientTape() as d_tape:
            d_per_example = (self.adversarial.discriminator(d_b(real_b), d_b(pooled_b))
                             + self.adversarial.discriminator(d_a(real_a), d_a(pooled_a)))
            d_loss = self.d_optimizer.scale_loss(self.scale_loss(d_per_example, batch))
        self.apply_gradients(d_tape, d_loss, self.discriminator_variables(), self.d_optimizer)
        self.d_loss_tracker.update_state(d_per_example)
        return self.training_logs()

    # ------------------------------------------------------------- inference
    def translator(self, direction: str) -> keras.Model:
        if direction == "a2b":
            return self.generator
        if direction == "b2a":
            return self.generator_ba
        raise ValueError(f"direction must be 'a2b' or 'b2a', got {direction!r}")

    def check_size(self, shape, what: str = "image") -> None:
        height, width = shape[-3], shape[-2]
        step = 2**DOWNSAMPLINGS
        if height % step or width % step or shape[-1] != self.channels:
            raise GanzooError(f"{what} is {height}x{width}x{shape[-1]}: cyclegan needs {self.channels} channels and a "
                              f"height and width that are multiples of {step}")

    def translate(self, images: np.ndarray, direction: str = "a2b", batch_size: int = 16) -> np.ndarray:
        """uint8 [h, w, C] or [n, h, w, C] (h, w multiples of 4) -> uint8 of the same shape."""
        translator = self.translator(direction)
        single = images.ndim == 3
        batch = images[None] if single else images
        self.check_size(batch.shape)
        out = []
        for i in range(0, len(batch), batch_size):
            x = to_signed(batch[i : i + batch_size])
            out.append(to_uint8(ops.convert_to_numpy(translator(x, training=False))))
        out = np.concatenate(out)
        return out[0] if single else out

    def translate_any_size(self, image: np.ndarray, direction: str = "a2b") -> np.ndarray:
        """uint8 [h, w, C] of any size: mirrored out to the next multiple of 4, translated, and
        cropped back (mirroring keeps the added border's statistics like the image's own)."""
        step = 2**DOWNSAMPLINGS
        height, width = image.shape[:2]
        pad_h, pad_w = -height % step, -width % step
        if pad_h >= height or pad_w >= width:  # np.pad "reflect" needs more pixels than it adds
            raise GanzooError(f"image is {height}x{width}: cyclegan needs at least {step}x{step} pixels")
        padded = np.pad(image, ((0, pad_h), (0, pad_w), (0, 0)), mode="reflect")
        return self.translate(padded, direction)[:height, :width]

    def receptive_margin(self) -> int:
        """Pixels on each side that reach an output pixel, rounded up to the downsampling step: the
        7x7 head and tail (3 each), the two stride-2 stages both ways (1 + 2 down, 2 + 1 up), and
        two 3x3 convolutions per residual block at a quarter of the resolution (8 per block)."""
        step = 2**DOWNSAMPLINGS
        margin = 3 + 3 + 2 * (1 + 2) + 8 * self.blocks
        return -(-margin // step) * step

    def translate_tiled(self, image: np.ndarray, direction: str = "a2b", tile: int = 256) -> np.ndarray:
        """uint8 [h, w, C] of any size, translated `tile` x `tile` pixels at a time, so memory is
        bounded by a tile (with its margin of context), not by the image; the result is
        whole-image translation to float rounding.

        Instance normalisation divides by statistics of the whole image, which no tile has. They
        are built up first, one normalisation layer at a time: a pass over every tile runs the
        network up to the next layer (the ones before it normalised with their finished
        statistics) and sums that layer's input over the tiles' centres. So a translation costs
        about (layers / 2 + 1) inferences of the image (17 layers for the 6-block generator)."""
        step = 2**DOWNSAMPLINGS
        if tile < step or tile % step:
            raise ValueError(f"tile must be a multiple of {step}, got {tile}")
        height, width = image.shape[:2]
        pad_h, pad_w = -height % step, -width % step
        if pad_h >= height or pad_w >= width:
            raise GanzooError(f"image is {height}x{width}: cyclegan needs at least {step}x{step} pixels")
        padded = np.pad(image, ((0, pad_h), (0, pad_w), (0, 0)), mode="reflect")
        network, margin = self.translator(direction), self.receptive_margin()
        norms = [layer for layer in network.layers if isinstance(layer, InstanceNormalization)]
        full_h, full_w = padded.shape[:2]
        windows = []
        for top in range(0, full_h, tile):
            for left in range(0, full_w, tile):
                bottom, right = min(top + tile, full_h), min(left + tile, full_w)
                y0, x0 = max(0, top - margin), max(0, left - margin)
                y1, x1 = min(full_h, bottom + margin), min(full_w, right + margin)
                windows.append(((y0, y1, x0, x1), (top - y0, bottom - y0, left - x0, right - x0)))
        moments = Moments()
        run = lambda y0, y1, x0, x1: network(to_signed(padded[None, y0:y1, x0:x1]), training=False)  # noqa: E731
        try:
            for layer in norms:
                layer.moments = moments
            for layer in norms:
                moments.target = layer.name
                for (y0, y1, x0, x1), centre in windows:
                    moments.centre, moments.window = centre, (y1 - y0, x1 - x0)
                    try:
                        run(y0, y1, x0, x1)
                    except Moments.Stop:
                        pass
                moments.finish()
            out = np.empty_like(padded)
            for (y0, y1, x0, x1), (cy0, cy1, cx0, cx1) in windows:
                translated = to_uint8(ops.convert_to_numpy(run(y0, y1, x0, x1)))[0]
                out[y0 + cy0 : y0 + cy1, x0 + cx0 : x0 + cx1] = translated[cy0:cy1, cx0:cx1]
        finally:
            for layer in norms:
                layer.moments = None
        return out[:height, :width]
