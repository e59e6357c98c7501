"""Model registry: `@register_model("dcgan")`, `create_model`, `list_models`.

Registration also registers the class with Keras' serialization, so a saved `.keras`
file reloads without `custom_objects`. Import the registry functions from `ganzoo.models`, which
registers the built-in zoo first.

`builtin_catalog()` reads the zoo's names, presets, one-line summaries and tasks from the model
modules' source without importing them (no TensorFlow): `ganzoo list` answers at once, and a
command for one kind of model refuses another kind before TensorFlow loads.
"""

from __future__ import annotations

import ast
import fnmatch
import functools
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
    if name not in _MODELS:
        raise _unknown_model(name, _MODELS)
    return _MODELS[name]


def _unknown_model(name: str, known) -> ModelNotFound:
    return ModelNotFound(f"unknown model {name!r}; known models: {', '.join(sorted(known))}")


def _unknown_preset(name: str, preset: str, presets) -> ModelNotFound:
    return ModelNotFound(f"model {name!r} has no preset {preset!r}; presets: {', '.join(presets)}")


def list_models(pattern: str = "*") -> list[str]:
    """Registered model names matching a shell-style pattern, sorted."""
    return sorted(n for n in _MODELS if fnmatch.fnmatch(n, pattern))


def list_presets(name: str) -> list[str]:
    return list(get_model_class(name).presets)


def preset_config(name: str, preset: str) -> dict[str, Any]:
    cls = get_model_class(name)
    if preset not in cls.presets:
        raise _unknown_preset(name, preset, cls.presets)
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
    class_name: str
    task: str  # the class's `task`, its own or inherited

    @property
    def conditional(self) -> bool:
        """Its presets give it classes (`num_classes`, a constructor argument): it takes labels."""
        return any(preset.get("num_classes") for preset in self.presets.values())


def _literal(node: ast.AST) -> Any:
    """ast.literal_eval, plus `dict(key=value, ...)` calls (how presets are written)."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict" and not node.args:
        return {keyword.arg: _literal(keyword.value) for keyword in node.keywords}
    if isinstance(node, ast.Dict):
        return {_literal(k): _literal(v) for k, v in zip(node.keys, node.values)}
    return ast.literal_eval(node)


def _class_attribute(node: ast.ClassDef, name: str) -> Any:
    """The literal a class body assigns to `name` (`x = ...` or `x: T = ...`), else None."""
    for item in node.body:
        if isinstance(item, ast.Assign) and any(getattr(t, "id", None) == name for t in item.targets):
            return _literal(item.value)
        if isinstance(item, ast.AnnAssign) and getattr(item.target, "id", None) == name and item.value is not None:
            return _literal(item.value)
    return None


@functools.cache  # the source does not change while a process runs; a command may ask twice
def builtin_catalog() -> tuple[CatalogEntry, ...]:
    """Every `@register_model` class in ganzoo/models/, read from source, sorted by name."""
    classes = {}  # every class of the model modules, by name: a registered one inherits from them
    for path in sorted((Path(__file__).parent / "models").glob("*.py")):
        classes |= {node.name: node for node in ast.parse(path.read_text()).body if isinstance(node, ast.ClassDef)}

    def inherited(node: ast.ClassDef | None, name: str) -> Any:
        if node is None:
            return None
        own = _class_attribute(node, name)
        bases = (classes.get(getattr(base, "id", None)) for base in node.bases)
        return own if own is not None else next((v for v in (inherited(b, name) for b in bases) if v is not None), None)

    entries = []
    for node in classes.values():
        names = [d.args[0].value for d in node.decorator_list if isinstance(d, ast.Call)
                 and getattr(d.func, "id", None) == "register_model" and d.args and isinstance(d.args[0], ast.Constant)]
        if names:
            summary = (ast.get_docstring(node) or "").strip().split("\n")[0]
            entries.append(CatalogEntry(names[0], _class_attribute(node, "presets") or {}, summary, node.name,
                                        inherited(node, "task") or ""))
    return tuple(sorted(entries))


def builtin_entry(name: str | None) -> CatalogEntry | None:
    """The built-in catalog's entry of model `name`; None for an unknown name."""
    return next((entry for entry in builtin_catalog() if entry.name == name), None)


def builtin_preset_config(name: str, preset: str) -> dict[str, Any]:
    """preset_config for the built-in zoo, read from source: the same answers and errors, without
    TensorFlow."""
    catalog = {entry.name: entry for entry in builtin_catalog()}
    if name not in catalog:
        raise _unknown_model(name, catalog)
    entry = catalog[name]
    if preset not in entry.presets:
        raise _unknown_preset(name, preset, entry.presets)
    return dict(entry.presets[preset])
