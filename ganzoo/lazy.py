"""Package attributes that import their module on first use (PEP 562), so `import ganzoo` and
the command line's help load no TensorFlow."""

from __future__ import annotations

import importlib
from typing import Callable


def lazy_getattr(package: str, names: dict[str, str], submodules: bool = False) -> Callable[[str], object]:
    """A module `__getattr__`: `names` maps an attribute to the module that defines it; with
    `submodules`, any other attribute is tried as a submodule (`ganzoo.errors`)."""

    def __getattr__(name: str):
        if name in names:
            return getattr(importlib.import_module(names[name]), name)
        if submodules:
            try:
                return importlib.import_module(f"{package}.{name}")
            except ModuleNotFoundError as error:
                if error.name != f"{package}.{name}":
                    raise
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
