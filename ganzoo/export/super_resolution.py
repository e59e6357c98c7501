"""Serving signatures of a super-resolution generator (srgan), for LR images of any size:

- `serving_default`: `image` uint8 [batch, h, w, 3] -> `images` uint8 [batch, s h, s w, 3]
- `upscale`: `image` float32 [batch, h, w, 3] in [-1, 1] -> `images` float32 (the raw output)
- `upscale_png`: `image_bytes` one encoded PNG/JPEG (string scalar) -> `png_bytes` (REST clients
  get it base64-wrapped)
A wrong rank or channel count fails with an InvalidArgument error that names the input.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from ganzoo.export.saved_model import checked, to_uint8_images


def checked_image(image, dtype_name: str):
    message = f"image must be a {dtype_name} tensor of shape [batch, height, width, 3]"
    image = checked(image, 4, message, [lambda x: tf.equal(tf.shape(x)[-1], 3)])  # [-1]: safe at any rank
    return tf.ensure_shape(image, [None, None, None, 3])


def sr_serving_functions(model) -> dict:
    generator = model.sampling_generator

    def upscale_uint8(image):
        lr = tf.cast(checked_image(image, "uint8"), tf.float32) / 127.5 - 1.0
        return {"images": to_uint8_images(generator(lr, training=False))}

    def upscale_float(image):
        return {"images": generator(checked_image(image, "float32 [-1, 1]"), training=False)}

    def upscale_png(image_bytes):
        encoded = tf.ensure_shape(checked(image_bytes, 0, "image_bytes must be one encoded PNG or JPEG (a string scalar)"), [])
        decoded = tf.io.decode_image(encoded, channels=3, expand_animations=False)
        lr = tf.cast(decoded, tf.float32)[None] / 127.5 - 1.0
        return {"png_bytes": tf.io.encode_png(to_uint8_images(generator(lr, training=False))[0])}

    return {
        "serving_default": tf.function(upscale_uint8, input_signature=[tf.TensorSpec(None, tf.uint8, name="image")]),
        "upscale": tf.function(upscale_float, input_signature=[tf.TensorSpec(None, tf.float32, name="image")]),
        "upscale_png": tf.function(upscale_png, input_signature=[tf.TensorSpec(None, tf.string, name="image_bytes")]),
    }


def sr_example_inputs(model, count: int = 2, seed: int = 2024) -> dict[str, dict[str, np.ndarray]]:
    """Odd-sized LR images (any size must work) for verification and warmup requests."""
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (count, 13, 11, 3), dtype=np.uint8)
    return {
        "serving_default": {"image": image},
        "upscale": {"image": image.astype(np.float32) / 127.5 - 1.0},
        "upscale_png": {"image_bytes": np.array(tf.io.encode_png(image[0]).numpy(), dtype=object)},
    }


def sr_reference(model) -> dict[str, np.ndarray]:
    """Keras' own outputs for the example inputs (what verify-export compares against)."""
    inputs = sr_example_inputs(model)
    lr = inputs["upscale"]["image"]
    return {"image": lr, "images": np.asarray(model.sampling_generator(lr, training=False)),
            "image_uint8": inputs["serving_default"]["image"]}
