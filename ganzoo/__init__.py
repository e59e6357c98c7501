"""ganzoo: a Keras 3 zoo of GANs trained with model.fit, exported for TF Serving and TFLite."""

import os

# TensorFlow's C++ start-up chatter drowns the CLI's output; users can still raise it.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from ganzoo import models  # noqa: E402,F401  (registers the zoo)
from ganzoo.registry import create_model, list_models, list_presets, register_model  # noqa: E402

__version__ = "0.1.0"
__all__ = ["create_model", "list_models", "list_presets", "register_model", "__version__"]
