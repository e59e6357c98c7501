"""SRGAN (Ledig et al. 2017): an SRResNet generator (residual blocks with batch norm and PReLU,
sub-pixel upsampling) and a VGG-style discriminator; content loss + 1e-3 x adversarial loss.

With `adversarial_weight = 0` the model is SRResNet, trained on the content loss alone (the
paper's MSE pre-training, recipe `srresnet_x4.toml`); `srgan_x4.toml` then starts from that run's
generator. Data are (LR, HR) patch pairs in [-1, 1]; the generator takes LR images of any size.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from ganzoo import losses
from ganzoo.errors import GanzooError
from ganzoo.images import to_signed, to_uint8
from ganzoo.layers import PixelShuffle
from ganzoo.models.base import GAN
from ganzoo.registry import register_model

CONTENT_LOSSES = ("mse", "vgg54", "vgg22")
VGG_LAYERS = {"vgg54": "block5_conv4", "vgg22": "block2_conv2"}
VGG_RESCALE = 1 / 12.75  # the paper's scaling of VGG feature losses


def residual_block(x, filters: int, name: str):
    skip = x
    x = layers.Conv2D(filters, 3, padding="same", name=f"{name}_conv1")(x)
    x = layers.BatchNormalization(synchronized=True, name=f"{name}_bn1")(x)
    x = layers.PReLU(shared_axes=[1, 2], name=f"{name}_prelu")(x)
    x = layers.Conv2D(filters, 3, padding="same", name=f"{name}_conv2")(x)
    x = layers.BatchNormalization(synchronized=True, name=f"{name}_bn2")(x)
    return layers.Add(name=f"{name}_add")([skip, x])


def build_srresnet(scale: int, filters: int, blocks: int, channels: int = 3, tail_kernel: int = 9) -> keras.Model:
    """LR [-1, 1] of any size -> SR [-1, 1] (linear output), `scale` = 2^k."""
    lr = keras.Input((None, None, channels), name="lr")
    x = layers.Conv2D(filters, 9, padding="same", name="head_conv")(lr)
    x = head = layers.PReLU(shared_axes=[1, 2], name="head_prelu")(x)
    for i in range(blocks):
        x = residual_block(x, filters, f"res{i}")
    x = layers.Conv2D(filters, 3, padding="same", name="body_conv")(x)
    x = layers.BatchNormalization(synchronized=True, name="body_bn")(x)
    x = layers.Add(name="body_add")([head, x])
    for i in range(int(math.log2(scale))):
        x = layers.Conv2D(filters * 4, 3, padding="same", name=f"up{i}_conv")(x)
        x = PixelShuffle(2, name=f"up{i}_shuffle")(x)
        x = layers.PReLU(shared_axes=[1, 2], name=f"up{i}_prelu")(x)
    sr = layers.Conv2D(channels, tail_kernel, padding="same", dtype="float32", name="tail_conv")(x)
    return keras.Model(lr, sr, name="generator")


def build_vgg_discriminator(hr_patch: int, filters, dense: int, channels: int = 3) -> keras.Model:
    """Pairs of 3x3 convs (stride 1, then 2) with batch norm (not on the first) and LeakyReLU."""
    hr = keras.Input((hr_patch, hr_patch, channels), name="image")
    x = hr
    for i, f in enumerate(filters):
        for stride in (1, 2):
            x = layers.Conv2D(f, 3, strides=stride, padding="same", name=f"d{i}s{stride}_conv")(x)
            if i or stride == 2:
                x = layers.BatchNormalization(synchronized=True, name=f"d{i}s{stride}_bn")(x)
            x = layers.LeakyReLU(0.2, name=f"d{i}s{stride}_lrelu")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(dense, name="dense")(x)
    x = layers.LeakyReLU(0.2, name="dense_lrelu")(x)
    return keras.Model(hr, layers.Dense(1, dtype="float32", name="logit")(x), name="discriminator")


def vgg_feature_extractor(content_loss: str, weights: str) -> keras.Model:
    """VGG19 ImageNet features for the content loss. `weights`: a path to
    vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5, or "" to let Keras download them."""
    try:
        vgg = keras.applications.VGG19(include_top=False, weights=weights or "imagenet", input_shape=(None, None, 3))
    except Exception as error:  # noqa: BLE001 - download and h5 errors come in many types
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise GanzooError(f"content_loss={content_loss} needs VGG19 ImageNet weights and they could not be loaded "
                          f"({first}); set vgg_weights to the path of vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5") from None
    vgg.trainable = False
    return keras.Model(vgg.input, vgg.get_layer(VGG_LAYERS[content_loss]).output, name=f"vgg19_{content_loss}")


@register_model("srgan")
class SRGAN(GAN):
    """SRGAN: 4x photo super-resolution (Ledig et al. 2017); `adversarial_weight=0` is SRResNet.

    Generator (SRResNet): LR image [batch, h, w, 3] in [-1, 1], any size -> 9x9 conv + PReLU ->
    `blocks` residual blocks (conv, batch norm, PReLU) -> sub-pixel (pixel shuffle) 2x stages ->
    SR image [batch, scale h, scale w, 3]. Discriminator: VGG-style conv pairs (stride 1 then 2)
    on `hr_patch` x `hr_patch` HR patches -> Dense -> logit. Loss: content (`mse`, or VGG19
    features `vgg54` / `vgg22`) + 1e-3 x adversarial. Data: (LR, HR) patch pairs.

    Presets: `tiny` (for tests), `x4` (the paper's 16 blocks, 64 filters, 96 px patches), `cpu`
    (8 blocks, 32 filters, 64 px). `upscale(uint8 image)`, `upscale_tiled(image, tile)`; recipes:
    `recipes/srresnet_x4.toml` then `recipes/srgan_x4.toml`.
    """

    task = "super_resolution"
    presets = {
        "tiny": dict(scale=4, filters=8, blocks=2, d_filters=(8, 16), d_dense=16, hr_patch=32),
        "x4": dict(scale=4, filters=64, blocks=16, d_filters=(64, 128, 256, 512), d_dense=1024, hr_patch=96),
        # For a CPU budget: the paper's 9x9 tail conv with 3 output channels runs at a fraction of
        # the CPU's conv throughput (about 2 of x4's 5 s per step on 2 cores), so it is 3x3 here.
        "cpu": dict(scale=4, filters=32, blocks=8, d_filters=(32, 64, 128), d_dense=256, hr_patch=64, tail_kernel=3),
    }

    def __init__(self, scale: int = 4, filters: int = 64, blocks: int = 16, d_filters=(64, 128, 256, 512),
                 d_dense: int = 1024, hr_patch: int = 96, content_loss: str = "mse", vgg_weights: str = "",
                 adversarial_weight: float = 1e-3, tail_kernel: int = 9, **kwargs):
        super().__init__(**kwargs)
        if scale < 2 or scale & (scale - 1):
            raise ValueError(f"scale must be a power of two >= 2, got {scale}")
        if content_loss not in CONTENT_LOSSES:
            raise ValueError(f"content_loss must be one of {', '.join(CONTENT_LOSSES)}, got {content_loss!r}")
        if hr_patch % scale:
            raise ValueError(f"hr_patch {hr_patch} is not a multiple of scale {scale}")
        self.scale, self.filters, self.blocks = int(scale), int(filters), int(blocks)
        self.d_filters, self.d_dense, self.hr_patch = tuple(d_filters), int(d_dense), int(hr_patch)
        self.content_loss, self.vgg_weights = content_loss, vgg_weights
        self.adversarial_weight = float(adversarial_weight)
        if tail_kernel < 1 or tail_kernel % 2 == 0:
            raise ValueError(f"tail_kernel must be an odd size, got {tail_kernel}")
        self.tail_kernel = int(tail_kernel)
        self.generator = build_srresnet(self.scale, self.filters, self.blocks, tail_kernel=self.tail_kernel)
        self.discriminator = build_vgg_discriminator(self.hr_patch, self.d_filters, self.d_dense)
        self.vgg = vgg_feature_extractor(content_loss, vgg_weights) if content_loss != "mse" else None
        self.content_tracker = keras.metrics.Mean(name="content_loss")
        self.finish_init()

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (self.hr_patch, self.hr_patch, 3)

    @property
    def metrics(self) -> list:
        if not self.adversarial_weight:
            return [self.content_tracker]
        return [self.content_tracker, *super().metrics]

    def content_per_example(self, hr, sr):
        if self.vgg is None:
            return losses.per_example(ops.square(hr - sr))
        def features(images):  # noqa: E306
            pixels = (ops.cast(images, "float32") + 1.0) * 127.5
            return self.vgg(keras.applications.vgg19.preprocess_input(pixels), training=False)
        return losses.per_example(ops.square(features(hr) - features(sr))) * VGG_RESCALE

    def train_step(self, data):
        lr, hr = data[0], data[1]  # (LR, HR), also as fit(x=LR, y=HR) passes them
        batch = ops.shape(hr)[0]
        with tf.GradientTape() as g_tape:
            sr = self.generate_fake(lr)
            per_example = self.content_per_example(hr, sr)
            self.content_tracker.update_state(per_example)
            if self.adversarial_weight:
                with g_tape.stop_recording():
                    self.discriminator_step(hr, sr)
                adversarial, _ = self.generator_loss(sr, batch)
                per_example = per_example + self.adversarial_weight * adversarial
            loss = self.g_optimizer.scale_loss(self.scale_loss(per_example, batch))
        self.apply_gradients(g_tape, loss, self.generator_variables(), self.g_optimizer)
        if self.adversarial_weight:
            self.g_loss_tracker.update_state(per_example)
        if self.ema_generator is not None:
            self.update_ema()
        return self.training_logs()

    # ------------------------------------------------------------- inference
    def upscale(self, lr_uint8: np.ndarray) -> np.ndarray:
        """uint8 [h, w, 3] (or [n, h, w, 3]) -> uint8 [scale h, scale w, 3] (or batched)."""
        single = lr_uint8.ndim == 3
        batch = lr_uint8[None] if single else lr_uint8
        sr = self.sampling_generator(to_signed(batch), training=False)
        out = to_uint8(ops.convert_to_numpy(sr))
        return out[0] if single else out

    def receptive_margin(self) -> int:
        """LR pixels on each side that influence an output pixel: 9x9 head (4), two 3x3 per
        residual block, the 3x3 body conv, the upsampling convs and the tail (at output scale)."""
        upsampling = sum(1 / 2**i for i in range(int(math.log2(self.scale))))
        return math.ceil(4 + 2 * self.blocks + 1 + upsampling + (self.tail_kernel // 2) / self.scale)

    def upscale_tiled(self, lr_uint8: np.ndarray, tile: int = 128) -> np.ndarray:
        """Upscales a large uint8 [h, w, 3] image tile by tile: each tile is computed with a margin
        of `receptive_margin()` LR pixels of real context, and only its centre is kept, so the
        result equals `upscale` on the whole image while memory stays bounded by the tile size."""
        if tile < 1:
            raise ValueError(f"tile must be at least 1, got {tile}")
        height, width = lr_uint8.shape[:2]
        scale, margin = self.scale, self.receptive_margin()
        out = np.empty((height * scale, width * scale, 3), np.uint8)
        for top in range(0, height, tile):
            for left in range(0, width, tile):
                bottom, right = min(top + tile, height), min(left + tile, width)
                y0, x0 = max(0, top - margin), max(0, left - margin)
                y1, x1 = min(height, bottom + margin), min(width, right + margin)
                sr = self.upscale(lr_uint8[y0:y1, x0:x1])
                dy, dx = (top - y0) * scale, (left - x0) * scale
                out[top * scale : bottom * scale, left * scale : right * scale] = sr[
                    dy : dy + (bottom - top) * scale, dx : dx + (right - left) * scale]
        return out
