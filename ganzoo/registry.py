"""Model registry: `@register_model("dcgan")`, `create_model`, `list_models`.

Registration also registers the class with Keras' serialization, so a saved `.keras`
file reloads without `custom_objects`. Import the registry functions from `ganzoo.models`, which
registers the built-in zoo first.

`builtin_catalog()` reads the zoo's names, presets and one-line summaries from the model
modules' source without importing them (no TensorFlow): `ganzoo list` answers at once.
"""

from __future__ import annotations

import ast
import fnmatch
from pathlib import Path
from typing import Any, Callable, NamedTuple

from ganzoo.errors import ModelNotFound

_MODELS: dict[str, type] = {}


def register_model(name: str) -> Callable[[type], type]:
    """Class decorator: adds a GAN class to the zoo under `name`."""

    def decorator(cls: type) -> type:
        import keras

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


def create_model(name: str, preset: str = "tiny", **overrides: Any):
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


# ------------------------------------------------------------------ the zoo without importing it
class CatalogEntry(NamedTuple):
    name: str
    presets: dict[str, dict[str, Any]]
    summary: str  # the first line of the class docstring


def _literal(node: ast.AST) -> Any:
    """ast.literal_eval, plus `dict(key=value, ...)` calls (how presets are written)."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict" and not node.args:
        return {keyword.arg: _literal(keyword.value) for keyword in node.keywords}
    if isinstance(node, ast.Dict):
        return {_literal(k): _literal(v) for k, v in zip(node.keys, node.values)}
    return ast.literal_eval(node)


def builtin_catalog() -> list[CatalogEntry]:
    """Every `@register_model` class in ganzoo/models/, read from source, sorted by name."""
    entries = []
    for path in sorted((Path(__file__).parent / "models").glob("*.py")):
        for node in ast.parse(path.read_text()).body:
            if not isinstance(node, ast.ClassDef):
                continue
            names = [d.args[0].value for d in node.decorator_list if isinstance(d, ast.Call)
                     and getattr(d.func, "id", None) == "register_model" and d.args and isinstance(d.args[0], ast.Constant)]
            if not names:
                continue
            presets = next((_literal(item.value) for item in node.body if isinstance(item, ast.Assign)
                            and any(getattr(t, "id", None) == "presets" for t in item.targets)), {})
            summary = (ast.get_docstring(node) or "").strip().split("\n")[0]
            entries.append(CatalogEntry(names[0], presets, summary))
    return sorted(entries)
