"""Every zoo model; importing this package registers them."""

from ganzoo.models.base import GAN
from ganzoo.models.cgan import ConditionalGAN
from ganzoo.models.dcgan import DCGAN
from ganzoo.models.vanilla import VanillaGAN

__all__ = ["GAN", "ConditionalGAN", "DCGAN", "VanillaGAN"]
