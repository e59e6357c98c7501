"""ganzoo: a Keras 3 zoo of GANs trained with model.fit, exported for TF Serving and TFLite.

    import ganzoo
    model = ganzoo.create_model("dcgan", preset="mnist")
    trained = ganzoo.from_pretrained("dcgan_mnist")

`import ganzoo` is quick: TensorFlow and Keras load when a model is first created or loaded
(module attributes below are resolved on first use, PEP 562).
"""

from __future__ import annotations

from ganzoo.lazy import lazy_getattr

__version__ = "0.1.0"

# Public names and the module that defines each; importing `ganzoo.models` registers the zoo.
_PUBLIC = {
    "create_model": "ganzoo.models",
    "list_models": "ganzoo.models",
    "list_presets": "ganzoo.models",
    "register_model": "ganzoo.registry",
    "from_pretrained": "ganzoo.zoo",
}
__all__ = [*_PUBLIC, "__version__"]
__getattr__ = lazy_getattr(__name__, _PUBLIC, submodules=True)


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC])
