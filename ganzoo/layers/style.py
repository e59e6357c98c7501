"""StyleGAN2 building blocks (Karras et al. 2020), in the forms that export to TFLite builtins.

Equalised learning rate: weights are stored N(0, 1 / lr_multiplier) and scaled at run time by
lr_multiplier * gain / sqrt(fan_in), so Adam's per-weight steps are the same relative size in
every layer (and 100x smaller in the mapping network with lr_multiplier 0.01).

`ModulatedConv2D` uses the input-modulation form, conv(x * s, W) * rsqrt(s^2 . sum_k W^2 + eps):
equal to convolving with per-sample modulated weights, but one ordinary convolution for the whole
batch, so it converts with TFLite builtin ops at any batch size (per-sample weights, as grouped
convolutions or patches, need Flex ops unless the batch is a static 1; the two forms agree to 7e-8).
"""

from __future__ import annotations

import math

import keras
from keras import ops

SQRT2 = math.sqrt(2.0)


def batch_of(variable, reference):
    """The [1, ...] variable repeated over the batch of `reference`, by multiplying with ones:
    a repeat's (tile's) gradient reads its multiples at run time, which XLA cannot compile inside
    the lazy-R1 and path-length branches (gradients of gradients)."""
    value = ops.convert_to_tensor(variable)  # the compute dtype under mixed precision
    return value * ops.ones((ops.shape(reference)[0],) + (1,) * (len(value.shape) - 1), value.dtype)


def broadcast_ws(w, num_ws: int):
    """w [batch, w_dim] -> ws [batch, num_ws, w_dim], one copy per layer (by ones, see batch_of)."""
    return w[:, None, :] * ops.ones((1, num_ws, 1), w.dtype)


def scaled_leaky_relu(x, gain: float = SQRT2):
    """LeakyReLU(0.2) times sqrt(2): keeps the signal's second moment through the layer."""
    return ops.leaky_relu(x, 0.2) * gain


@keras.saving.register_keras_serializable(package="ganzoo")
class EqualizedDense(keras.layers.Layer):
    def __init__(self, units: int, lr_multiplier: float = 1.0, bias_init: float = 0.0, activation: str = "linear", **kwargs):
        super().__init__(**kwargs)
        if activation not in ("linear", "lrelu"):
            raise ValueError(f"activation must be 'linear' or 'lrelu', got {activation!r}")
        self.units, self.lr_multiplier, self.bias_init, self.activation = int(units), float(lr_multiplier), float(bias_init), activation

    def build(self, input_shape):
        fan_in = int(input_shape[-1])
        self.weight_gain = self.lr_multiplier / math.sqrt(fan_in)
        self.kernel = self.add_weight(name="kernel", shape=(fan_in, self.units),
                                      initializer=keras.initializers.RandomNormal(0.0, 1.0 / self.lr_multiplier))
        self.bias = self.add_weight(name="bias", shape=(self.units,),
                                    initializer=keras.initializers.Constant(self.bias_init / self.lr_multiplier))

    def call(self, x):
        y = ops.matmul(x, self.kernel * self.weight_gain) + self.bias * self.lr_multiplier
        return scaled_leaky_relu(y) if self.activation == "lrelu" else y

    def get_config(self):
        return {**super().get_config(), "units": self.units, "lr_multiplier": self.lr_multiplier,
                "bias_init": self.bias_init, "activation": self.activation}


@keras.saving.register_keras_serializable(package="ganzoo")
class EqualizedConv2D(keras.layers.Layer):
    """Same-padded convolution with run-time weight scaling, optional bias and scaled LeakyReLU."""

    def __init__(self, filters: int, kernel_size: int, use_bias: bool = True, activation: str = "linear", **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.use_bias, self.activation = int(filters), int(kernel_size), bool(use_bias), activation

    def build(self, input_shape):
        channels = int(input_shape[-1])
        self.weight_gain = 1.0 / math.sqrt(channels * self.kernel_size**2)
        self.kernel = self.add_weight(name="kernel", shape=(self.kernel_size, self.kernel_size, channels, self.filters),
                                      initializer=keras.initializers.RandomNormal(0.0, 1.0))
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros") if self.use_bias else None

    def call(self, x):
        y = ops.conv(x, self.kernel * self.weight_gain, padding="same")
        if self.bias is not None:
            y = y + self.bias
        return scaled_leaky_relu(y) if self.activation == "lrelu" else y

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "use_bias": self.use_bias, "activation": self.activation}


@keras.saving.register_keras_serializable(package="ganzoo")
class ModulatedConv2D(keras.layers.Layer):
    """[x, ws] -> conv of x modulated by the style of w = ws[:, w_index] (an affine map of w,
    bias 1), demodulated per output channel (to-RGB layers skip demodulation). Adds the bias."""

    def __init__(self, filters: int, kernel_size: int, w_index: int, demodulate: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.w_index, self.demodulate = int(filters), int(kernel_size), int(w_index), bool(demodulate)

    def build(self, input_shape):
        x_shape, ws_shape = input_shape
        channels = int(x_shape[-1])
        self.affine = EqualizedDense(channels, bias_init=1.0, dtype=self.dtype_policy, name="affine")
        self.affine.build((ws_shape[0], ws_shape[2]))
        self.weight_gain = 1.0 / math.sqrt(channels * self.kernel_size**2)
        self.kernel = self.add_weight(name="kernel", shape=(self.kernel_size, self.kernel_size, channels, self.filters),
                                      initializer=keras.initializers.RandomNormal(0.0, 1.0))
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")

    # Export-time per-input-channel scale t (export/style.py sets it, typical style magnitudes):
    # styles / t with the kernel's input channels times t is the same function, but the tensors
    # that full-int8 quantizes per tensor (styles, x * styles) then have channels of one size.
    style_scale = None
    # Export-time gain g the input still needs (NoiseInjection.gain moved here): kernel * g without
    # demodulation; with it, energy / g^2 (the demodulation would undo a kernel * g).
    input_gain = None

    def call(self, inputs):
        x, ws = inputs
        styles = self.affine(ws[:, self.w_index])  # [batch, in_channels]
        kernel = self.kernel * self.weight_gain
        if self.style_scale is not None:  # the converter folds both into the weights
            styles, kernel = styles / self.style_scale, kernel * self.style_scale[:, None]
        if self.input_gain is not None and not self.demodulate:
            kernel = kernel * self.input_gain
        y = ops.conv(x * styles[:, None, None, :], kernel, padding="same")
        if self.demodulate:
            # sum over (kh, kw, in) of (W * s)^2 per sample and output channel, without forming W * s.
            kernel_energy = ops.sum(ops.square(kernel), axis=(0, 1))
            if self.input_gain is not None:
                kernel_energy = kernel_energy / self.input_gain**2
            energy = ops.matmul(ops.square(styles), kernel_energy)
            y = y * ops.rsqrt(energy + 1e-8)[:, None, None, :]
        return y + self.bias

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "w_index": self.w_index, "demodulate": self.demodulate}


@keras.saving.register_keras_serializable(package="ganzoo")
class NoiseInjection(keras.layers.Layer):
    """[x, noise [batch, h, w, 1]] -> scaled LeakyReLU(x + strength * noise); strength is learned
    (one scalar per layer, starting at 0 as in StyleGAN2)."""

    # Export-time (tasks/style.py): the sqrt 2 gain left to the modulated convolutions that read
    # this output (ModulatedConv2D.input_gain), which fold it into constants: one int8 rescale less.
    gain = SQRT2

    def build(self, input_shape):
        self.strength = self.add_weight(name="strength", shape=(), initializer="zeros")

    def call(self, inputs):
        x, noise = inputs
        return scaled_leaky_relu(x + ops.cast(noise, x.dtype) * self.strength, self.gain)


@keras.saving.register_keras_serializable(package="ganzoo")
class ConstantNoise(keras.layers.Layer):
    """A fixed N(0, 1) noise map [1, h, w, 1] (non-trainable), repeated over the batch of its
    input: the `noise_mode="const"` noise that makes generation a function of the latent alone."""

    def __init__(self, size: int, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.size, self.seed = int(size), int(seed)

    def build(self, input_shape):
        self.noise = self.add_weight(name="noise", shape=(1, self.size, self.size, 1), trainable=False,
                                     initializer=keras.initializers.RandomNormal(0.0, 1.0, seed=self.seed))

    def call(self, reference):
        return batch_of(self.noise, reference)

    def get_config(self):
        return {**super().get_config(), "size": self.size, "seed": self.seed}


@keras.saving.register_keras_serializable(package="ganzoo")
class ConstantInput(keras.layers.Layer):
    """The synthesis network's learned 4x4 starting map, repeated over the batch of its input."""

    def __init__(self, channels: int, size: int = 4, **kwargs):
        super().__init__(**kwargs)
        self.channels, self.size = int(channels), int(size)

    def build(self, input_shape):
        self.const = self.add_weight(name="const", shape=(1, self.size, self.size, self.channels),
                                     initializer=keras.initializers.RandomNormal(0.0, 1.0))

    def call(self, reference):
        return batch_of(self.const, reference)

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "size": self.size}


@keras.saving.register_keras_serializable(package="ganzoo")
class NormalizeLatent(keras.layers.Layer):
    """z * rsqrt(mean(z^2) + eps): every latent on the same sphere before the mapping network."""

    def call(self, z):
        return z * ops.rsqrt(ops.mean(ops.square(z), axis=-1, keepdims=True) + 1e-8)


@keras.saving.register_keras_serializable(package="ganzoo")
class MinibatchStdDev(keras.layers.Layer):
    """Appends the mean standard deviation of the features over groups of `group_size`
    consecutive samples (Karras et al. 2018) as one more channel, so the discriminator sees the
    batch's variety. Works on channels-last features of any rank (images [B, H, W, C], volumes
    [B, D, H, W, C]). A static batch that the group size does not divide uses
    gcd(batch, group_size); a dynamic batch must be a multiple of it (training batches drop their
    remainder)."""

    def __init__(self, group_size: int = 4, **kwargs):
        super().__init__(**kwargs)
        self.group_size = int(group_size)

    def call(self, x):
        sample_shape = tuple(x.shape[1:])  # spatial dims + channels, static
        spatial = sample_shape[:-1]
        # A Python group size keeps every shape static: XLA cannot compile the second-order
        # gradient (R1) of a reshape whose size is computed at run time.
        group = math.gcd(x.shape[0], self.group_size) if x.shape[0] is not None else self.group_size
        grouped = ops.reshape(x, (-1, group) + sample_shape)
        std = ops.sqrt(ops.var(grouped, axis=1) + 1e-8)  # over the members of each group
        per_group = ops.mean(std, axis=tuple(range(1, len(sample_shape) + 1)), keepdims=True)  # [B / group, 1, ...]
        # Broadcast by multiplying with ones, not tile/repeat: a tile's gradient reads its
        # multiples at run time, which XLA cannot compile inside the lazy-R1 branch.
        feature = per_group[:, None] * ops.ones((1, group) + spatial + (1,), per_group.dtype)
        return ops.concatenate([x, ops.cast(ops.reshape(feature, (-1,) + spatial + (1,)), x.dtype)], axis=-1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (input_shape[-1] + 1,)

    def get_config(self):
        return {**super().get_config(), "group_size": self.group_size}


@keras.saving.register_keras_serializable(package="ganzoo")
class WAverage(keras.layers.Layer):
    """The tracked average of w (non-trainable): the centre the truncation trick pulls toward,
    w_avg + psi * (w - w_avg). Updated by training as w_avg <- lerp(mean_batch(w), w_avg, beta)."""

    def __init__(self, w_dim: int, beta: float = 0.995, **kwargs):
        super().__init__(**kwargs)
        self.w_dim, self.beta = int(w_dim), float(beta)
        self.w_avg = self.add_weight(name="w_avg", shape=(self.w_dim,), initializer="zeros", trainable=False,
                                     aggregation="mean")
        self.built = True

    def track(self, w) -> None:
        self.w_avg.assign(ops.mean(ops.cast(w, "float32"), axis=0) * (1.0 - self.beta) + self.w_avg * self.beta)

    def call(self, w, truncation_psi=1.0):
        psi = ops.reshape(ops.cast(truncation_psi, w.dtype), (-1, 1)) if ops.ndim(truncation_psi) else truncation_psi
        return self.w_avg + psi * (w - self.w_avg)

    def get_config(self):
        return {**super().get_config(), "w_dim": self.w_dim, "beta": self.beta}
