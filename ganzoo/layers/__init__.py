"""Reusable blocks shared by the zoo's networks."""

from ganzoo.layers.image_pool import ImagePool
from ganzoo.layers.normalization import InstanceNormalization, ReflectionPadding2D
from ganzoo.layers.pixel_shuffle import PixelShuffle

__all__ = ["ImagePool", "InstanceNormalization", "PixelShuffle", "ReflectionPadding2D"]
