"""Sub-pixel upsampling (Shi et al. 2016): [B, H, W, C * r^2] -> [B, r H, r W, C].

`depth_to_space` with TensorFlow's channel order, which converts to TFLite's builtin
DEPTH_TO_SPACE (no Flex op) and accepts any H and W.
"""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="ganzoo")
class PixelShuffle(keras.layers.Layer):
    """out[b, r*h + i, r*w + j, c] = in[b, h, w, (i*r + j) * C + c]."""

    def __init__(self, scale: int = 2, **kwargs):
        super().__init__(**kwargs)
        if int(scale) < 2:
            raise ValueError(f"scale must be at least 2, got {scale}")
        self.scale = int(scale)

    def call(self, inputs):
        channels = inputs.shape[-1]
        if channels is not None and channels % (self.scale**2):
            raise ValueError(f"PixelShuffle({self.scale}) needs channels divisible by {self.scale**2}, got {channels}")
        return tf.nn.depth_to_space(inputs, self.scale)

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        scale = self.scale
        return (batch, None if height is None else height * scale, None if width is None else width * scale,
                None if channels is None else channels // scale**2)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}
