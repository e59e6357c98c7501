"""Serving signatures of an image-to-image translation model (cyclegan), both directions in one
SavedModel:

- `a2b`, `b2a`: `image` uint8 [batch, h, w, C] -> `images` uint8 [batch, h, w, C]; h and w must be
  multiples of 4 (the generators' two stride-2 stages), anything else fails with an
  InvalidArgument error that names the input
- `serving_default`: the same as `a2b`
TFLite holds one file per direction (`<name>.a2b.<mode>.tflite`): float32 [batch, h, w, C] in
[-1, 1] in and out.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from ganzoo.export.saved_model import checked, to_uint8_images

DIRECTIONS = ("a2b", "b2a")


def checked_translation_input(image, channels: int, multiple: int):
    message = (f"image must be a uint8 tensor of shape [batch, height, width, {channels}] with height and width "
               f"multiples of {multiple}")
    sizes_ok = lambda x: tf.reduce_all(tf.math.floormod(tf.shape(x)[1:3], multiple) == 0)
    image = checked(image, 4, message, [lambda x: tf.equal(tf.shape(x)[-1], channels), sizes_ok])
    return tf.ensure_shape(image, [None, None, None, channels])


def translation_serving_functions(model) -> dict:
    from ganzoo.models.cyclegan import DOWNSAMPLINGS

    def endpoint(direction: str):
        network = model.translator(direction)

        def translate(image):
            x = tf.cast(checked_translation_input(image, model.channels, 2**DOWNSAMPLINGS), tf.float32) / 127.5 - 1.0
            return {"images": to_uint8_images(network(x, training=False))}

        return tf.function(translate, input_signature=[tf.TensorSpec(None, tf.uint8, name="image")])

    functions = {direction: endpoint(direction) for direction in DIRECTIONS}
    return {"serving_default": functions["a2b"], **functions}


def translation_example_inputs(model, count: int = 2, seed: int = 2024) -> dict[str, dict[str, np.ndarray]]:
    """Photo-like (smooth) images of a size other than the training size (any allowed size must
    work): per-pixel noise is no image a translation model serves, and full-int8 instance norm
    is far from float on it (measured: 24.9 dB on noise)."""
    coarse = np.random.default_rng(seed).uniform(0, 255, (count, 5, 3, model.channels)).astype(np.float32)
    image = np.clip(np.round(tf.image.resize(coarse, (20, 12), method="bicubic").numpy()), 0, 255).astype(np.uint8)
    return {name: {"image": image} for name in ("serving_default", *DIRECTIONS)}


def translation_reference(model) -> dict[str, np.ndarray]:
    """Keras' outputs per direction for the example images (what verify-export compares against)."""
    image = translation_example_inputs(model)["a2b"]["image"]
    x = image.astype(np.float32) / 127.5 - 1.0
    reference = {"translate_uint8": image, "translate_input": x}
    for direction in DIRECTIONS:
        reference[f"{direction}_images"] = np.asarray(model.translator(direction)(x, training=False))
    return reference
