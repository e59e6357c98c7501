"""Model registry: `@register_model("dcgan")`, `create_model`, `list_models`.

Registration also registers the class with Keras' serialization, so a saved `.keras`
file reloads without `custom_objects`.
"""

from __future__ import annotations

import fnmatch
from typing import Any, Callable

import keras

from ganzoo.errors import ModelNotFound

_MODELS: dict[str, type] = {}


def register_model(name: str) -> Callable[[type], type]:
    """Class decorator: adds a GAN class to the zoo under `name`."""

    def decorator(cls: type) -> type:
        if name in _MODELS and _MODELS[name] is not cls:
            raise ValueError(f"model name {name!r} is already registered by {_MODELS[name]!r}")
        cls = keras.saving.register_keras_serializable(package="ganzoo", name=cls.__name__)(cls)
        cls.registry_name = name
        _MODELS[name] = cls
        return cls

    return decorator


def get_model_class(name: str) -> type:
    try:
        return _MODELS[name]
    except KeyError:
        raise ModelNotFound(
            f"unknown model {name!r}; known models: {', '.join(sorted(_MODELS))}"
        ) from None


def list_models(pattern: str = "*") -> list[str]:
    """Registered model names matching a shell-style pattern, sorted."""
    return sorted(n for n in _MODELS if fnmatch.fnmatch(n, pattern))


def list_presets(name: str) -> list[str]:
    return list(get_model_class(name).presets)


def preset_config(name: str, preset: str) -> dict[str, Any]:
    cls = get_model_class(name)
    if preset not in cls.presets:
        raise ModelNotFound(
            f"model {name!r} has no preset {preset!r}; presets: {', '.join(cls.presets)}"
        )
    return dict(cls.presets[preset])


def create_model(name: str, preset: str = "tiny", **overrides: Any) -> keras.Model:
    """Builds a registered GAN from a preset, with constructor arguments overridden."""
    cls = get_model_class(name)
    config = preset_config(name, preset)
    accepted = set(cls.constructor_arguments())
    unknown = sorted(set(overrides) - accepted)
    if unknown:
        raise ModelNotFound(
            f"model {name!r} has no argument {unknown[0]!r}; arguments: {', '.join(sorted(accepted))}"
        )
    config.update(overrides)
    return cls(**config)
