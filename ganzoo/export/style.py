"""Serving signatures of a style-based generator (stylegan_lite), all from the EMA generator with
its constant noise maps (so the same inputs give the same images on any server):

- `serving_default`: `latent` float32 [batch, latent_dim], `truncation_psi` float32 scalar ->
  `images` uint8 [batch, H, W, C]
- `generate`: the same inputs -> `images` float32 in [-1, 1]
- `sample`: `seed` int64, `num_samples` int32, `truncation_psi` float32 scalars -> `images` uint8
  (the latents of `model.generate(num_samples, seed=seed)`)
- `sample_png`: like `sample` -> `png_bytes`
- `mapping`: `latent`, `truncation_psi` -> `w` float32 [batch, w_dim] (truncated toward the tracked
  average w)
- `synthesis`: `ws` float32 [batch, num_ws, w_dim] (one w per layer) -> `images` uint8: a client
  mixes styles by taking layers < k from one mapping output and the rest from another.
TFLite: `latent` [batch, latent_dim], `truncation_psi` scalar -> `images` float32, builtin ops at
any batch size (the modulated convolutions are in input-modulation form).
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import tensorflow as tf

from ganzoo.export.saved_model import (
    checked,
    checked_count,
    checked_latent,
    to_uint8_images,
)
from ganzoo.models.base import latents_for_seed


def checked_psi(truncation_psi):
    message = "truncation_psi must be a finite float32 scalar"
    psi = checked(truncation_psi, 0, message, [lambda p: tf.math.is_finite(p)])
    return tf.ensure_shape(psi, [])


def style_networks(model):
    """(mapping, synthesis, constant noise maps, w_avg) of the EMA generator."""
    mapping, synthesis, noise_layers = model.parts(model.sampling_generator)
    return mapping, synthesis, [layer.noise for layer in noise_layers], model.w_average.w_avg


def style_pipeline(model):
    """Graph functions (latent, psi) -> w and ws -> images in [-1, 1], shared by SavedModel and TFLite."""
    mapping, synthesis, noises, w_avg = style_networks(model)

    def to_w(latent, psi):
        w = mapping(latent, training=False)
        return w_avg + psi * (w - w_avg)

    def to_images(ws):
        batch = tf.shape(ws)[0]
        maps = [tf.repeat(noise, batch, axis=0) for noise in noises]
        return tf.clip_by_value(tf.cast(synthesis([ws, *maps], training=False), tf.float32), -1.0, 1.0)

    def broadcast(w):
        return tf.repeat(w[:, None, :], model.num_ws, axis=1)

    return to_w, to_images, broadcast


def style_serving_functions(model) -> dict:
    to_w, to_images, broadcast = style_pipeline(model)
    latent_dim, num_ws, w_dim = model.latent_dim, model.num_ws, model.w_dim
    encode_pngs = lambda images: tf.map_fn(tf.io.encode_png, to_uint8_images(images), fn_output_signature=tf.string)

    def from_latent(latent, truncation_psi):
        return to_images(broadcast(to_w(checked_latent(latent, latent_dim), checked_psi(truncation_psi))))

    def from_seed(seed, num_samples, truncation_psi):
        seed = tf.ensure_shape(checked(seed, 0, "seed must be an int64 scalar"), [])
        latents = latents_for_seed(checked_count(num_samples), latent_dim, seed)
        return to_images(broadcast(to_w(latents, checked_psi(truncation_psi))))

    def mapping(latent, truncation_psi):
        return {"w": to_w(checked_latent(latent, latent_dim), checked_psi(truncation_psi))}

    def synthesis(ws):
        message = f"ws must be a float32 tensor of shape [batch, {num_ws}, {w_dim}]"
        ws = checked(ws, 3, message, [lambda x: tf.reduce_all(tf.equal(tf.shape(x)[1:], [num_ws, w_dim]))])
        return {"images": to_uint8_images(to_images(tf.ensure_shape(ws, [None, num_ws, w_dim])))}

    latent_specs = [tf.TensorSpec(None, tf.float32, name="latent"), tf.TensorSpec(None, tf.float32, name="truncation_psi")]
    sample_specs = [tf.TensorSpec(None, tf.int64, name="seed"), tf.TensorSpec(None, tf.int32, name="num_samples"),
                    tf.TensorSpec(None, tf.float32, name="truncation_psi")]

    def endpoint(function, specs, outputs=None):
        wrapped = function if outputs is None else (lambda *inputs: outputs(function(*inputs)))
        return tf.function(wrapped, input_signature=specs)

    return {
        "serving_default": endpoint(from_latent, latent_specs, lambda x: {"images": to_uint8_images(x)}),
        "generate": endpoint(from_latent, latent_specs, lambda x: {"images": x}),
        "sample": endpoint(from_seed, sample_specs, lambda x: {"images": to_uint8_images(x)}),
        "sample_png": endpoint(from_seed, sample_specs, lambda x: {"png_bytes": encode_pngs(x)}),
        "mapping": endpoint(mapping, latent_specs),
        "synthesis": endpoint(synthesis, [tf.TensorSpec(None, tf.float32, name="ws")]),
    }


STYLE_SCALE_FLOOR = 1e-2  # of a layer's largest scale: a style that is ~0 everywhere keeps a finite one


@contextmanager
def normalized_styles(model, latents, truncation_psi):
    """While open, each modulated convolution of the EMA generator divides its styles by their RMS
    over `latents` (truncated by `truncation_psi`, one per latent) and multiplies its kernel's input
    channels by it: the same function to float rounding, but full-int8 TFLite of a trained model
    measured 27.0 dB instead of 24.9 dB (its styles span channels of very different size)."""
    from keras import ops

    from ganzoo.layers.style import ModulatedConv2D

    mapping, synthesis, _ = model.parts(model.sampling_generator)
    w = model.w_average(mapping(np.asarray(latents, np.float32), training=False),
                        truncation_psi=np.asarray(truncation_psi, np.float32))
    layers = [layer for layer in synthesis.layers if isinstance(layer, ModulatedConv2D)]
    for layer in layers:
        rms = np.sqrt(np.mean(np.square(ops.convert_to_numpy(layer.affine(w))), axis=0))
        layer.style_scale = np.maximum(rms, STYLE_SCALE_FLOOR * rms.max()).astype(np.float32)
    try:
        yield
    finally:
        for layer in layers:
            layer.style_scale = None


def style_tflite_function(model):
    to_w, to_images, broadcast = style_pipeline(model)
    specs = [tf.TensorSpec([None, model.latent_dim], tf.float32, name="latent"),
             tf.TensorSpec([], tf.float32, name="truncation_psi")]
    return tf.function(lambda latent, psi: {"images": to_images(broadcast(to_w(latent, psi)))}, input_signature=specs)


EXAMPLE_PSI = 0.7


def style_example_inputs(model, count: int = 4, seed: int = 2024) -> dict[str, dict[str, np.ndarray]]:
    psi = np.array(EXAMPLE_PSI, np.float32)
    latent = {"latent": latents_for_seed(count, model.latent_dim, seed).numpy(), "truncation_psi": psi}
    sample = {"seed": np.array(seed, np.int64), "num_samples": np.array(count, np.int32), "truncation_psi": psi}
    return {"serving_default": latent, "generate": latent, "sample": sample, "sample_png": sample, "mapping": latent}


def style_reference(model) -> dict[str, np.ndarray]:
    """Keras' outputs for the example inputs, including a style-mixed ws for `synthesis`."""
    from keras import ops

    from ganzoo.models.stylegan_lite import mix_styles

    inputs = style_example_inputs(model)
    latent, psi = inputs["generate"]["latent"], float(EXAMPLE_PSI)
    w = ops.convert_to_numpy(model.mapped(latent, psi))
    crossover = model.num_ws // 2
    ws = ops.convert_to_numpy(mix_styles(w, np.roll(w, 1, axis=0), np.full([len(w)], crossover), model.num_ws))
    return {
        "style_latent": latent, "style_psi": np.asarray(psi, np.float32),
        "style_images": model.generate(latent, truncation_psi=psi),
        "style_w": w, "style_ws": ws, "style_mixed_images": model.synthesize(ws),
        "style_sample_seed": inputs["sample"]["seed"], "style_sample_num": inputs["sample"]["num_samples"],
        "style_sample_images": model.generate(int(inputs["sample"]["num_samples"]), seed=int(inputs["sample"]["seed"]),
                                              truncation_psi=psi),
    }
