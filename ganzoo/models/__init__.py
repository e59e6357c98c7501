"""Every zoo model; importing this package registers them."""

from ganzoo.models.base import GAN
from ganzoo.models.cgan import ConditionalGAN
from ganzoo.models.cyclegan import CycleGAN
from ganzoo.models.dcgan import DCGAN
from ganzoo.models.srgan import SRGAN
from ganzoo.models.stylegan_lite import StyleGANLite
from ganzoo.models.vanilla import VanillaGAN

__all__ = ["GAN", "SRGAN", "StyleGANLite", "ConditionalGAN", "CycleGAN", "DCGAN", "VanillaGAN"]
