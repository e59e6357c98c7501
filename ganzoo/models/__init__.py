"""Every zoo model; importing this package registers them, so the registry functions exported
here always see the whole zoo."""

from ganzoo.models.base import GAN
from ganzoo.models.cgan import ConditionalGAN
from ganzoo.models.cyclegan import CycleGAN
from ganzoo.models.dcgan import DCGAN
from ganzoo.models.gan3d import GAN3D
from ganzoo.models.srgan import SRGAN
from ganzoo.models.stylegan_lite import StyleGANLite
from ganzoo.models.vanilla import VanillaGAN
from ganzoo.registry import (
           create_model,
           get_model_class,
           list_models,
           list_presets,
           preset_config,
)

__all__ = ["GAN", "SRGAN", "StyleGANLite", "ConditionalGAN", "CycleGAN", "DCGAN", "GAN3D", "VanillaGAN", "create_model",
           "get_model_class", "list_models", "list_presets", "preset_config"]
