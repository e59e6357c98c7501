"""ganzoo: a Keras 3 zoo of GANs trained with model.fit, exported for TF Serving and TFLite.

    import ganzoo
    model = ganzoo.create_model("dcgan", preset="mnist")

`import ganzoo` is quick: TensorFlow and Keras load when a model is first created or loaded
(module attributes below are resolved on first use, PEP 562).
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# Public names and the module that defines each; importing `ganzoo.models` registers the zoo.
_PUBLIC = {
    "create_model": "ganzoo.models",
    "list_models": "ganzoo.models",
    "list_presets": "ganzoo.models",
    "register_model": "ganzoo.registry",
}
__all__ = [*_PUBLIC, "__version__"]


def __getattr__(name: str):
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    try:  # submodules as attributes: ganzoo.errors, ganzoo.models, ...
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as error:
        if error.name != f"{__name__}.{name}":
            raise
        raise AttributeError(f"module 'ganzoo' has no attribute {name!r}") from None


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC])
