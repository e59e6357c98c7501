"""Reusable blocks shared by the zoo's networks."""

from ganzoo.layers.pixel_shuffle import PixelShuffle

__all__ = ["PixelShuffle"]
