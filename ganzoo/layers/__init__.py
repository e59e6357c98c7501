"""Reusable blocks shared by the zoo's networks."""

from ganzoo.layers.image_pool import ImagePool
from ganzoo.layers.normalization import InstanceNormalization, ReflectionPadding2D
from ganzoo.layers.pixel_shuffle import PixelShuffle
from ganzoo.layers.random import StatelessDropout, stateless_draw
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
)

__all__ = [
    "ConstantInput",
    "ConstantNoise",
    "EqualizedConv2D",
    "EqualizedDense",
    "ImagePool",
    "InstanceNormalization",
    "MinibatchStdDev",
    "ModulatedConv2D",
    "NoiseInjection",
    "NormalizeLatent",
    "PixelShuffle",
    "ReflectionPadding2D",
    "StatelessDropout",
    "WAverage",
    "stateless_draw",
]
