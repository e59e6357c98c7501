"""Which kinds of model (tasks) each command takes, in one place: the CLI refuses another kind
from the model's catalog entry before TensorFlow loads, the library functions (ganzoo/actions.py)
again from the loaded model. Light: imports nothing."""

SAMPLE = ("generation", "style", "volume")  # sample latents, write images or volumes
EVALUATE = SAMPLE  # statistics of samples against real data (FID, KID, coverage, ...)
TRUNCATION = ("style",)  # a tracked average w to truncate towards
STYLE_MIX = ("style",)
INTERPOLATE = ("style", "volume")
SUPER_RESOLUTION = ("super_resolution",)  # upscale, evaluate-sr
TRANSLATE = ("translation",)
