"""What a user installs is what the code imports: every third-party module that ganzoo/ imports
(at module level or inside a function) comes from a distribution in install_requires, or is one
of the optional ones below, imported where it is used behind a one-line error naming its extra.
(CI also runs the README's quickstart in a venv with the plain install, which catches what a
static reading cannot.)"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys

from conftest import REPO

# module -> the extra that installs it (setup.py extras_require)
OPTIONAL = {"ai_edge_litert": "tflite"}
# Distributions that provide the same modules as a required one (GANZOO_GPU=1 installs
# tensorflow[and-cuda] instead of tensorflow-cpu).
SAME_MODULES = {"tensorflow": "tensorflow-cpu"}


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def third_party_imports() -> dict[str, set[str]]:
    """Top-level module -> the files of ganzoo/ that import it (stdlib and ganzoo left out)."""
    found: dict[str, set[str]] = {}
    for path in (REPO / "ganzoo").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top != "ganzoo" and top not in sys.stdlib_module_names:
                    found.setdefault(top, set()).add(str(path.relative_to(REPO)))
    return found


def requirements() -> tuple[set[str], dict[str, set[str]]]:
    """(required distributions, extra -> distributions) from the installed ganzoo's metadata."""
    required, extras = set(), {}
    for line in importlib.metadata.requires("ganzoo") or []:
        name = normalized(re.split(r"[\s;<>=!~\[]", line, maxsplit=1)[0])
        extra = re.search(r"extra\s*==\s*['\"]([^'\"]+)['\"]", line)
        if extra:
            extras.setdefault(extra.group(1), set()).add(name)
        else:
            required.add(name)
    return required, extras


def test_every_import_is_a_declared_dependency():
    required, extras = requirements()
    providers = importlib.metadata.packages_distributions()
    missing = {}
    for module, files in third_party_imports().items():
        # A module not installed here (tomli on Python 3.11+) is taken to be its distribution's name.
        distributions = {normalized(d) for d in providers.get(module, [module])}
        distributions |= {SAME_MODULES[d] for d in distributions if d in SAME_MODULES}
        if module in OPTIONAL:
            assert distributions & extras[OPTIONAL[module]], f"{module} is not in the {OPTIONAL[module]!r} extra"
            assert not distributions & required, f"{module} is optional but also required"
        elif not distributions & required:
            missing[module] = sorted(files)
    assert not missing, f"imported but not in install_requires: {missing}"


def test_optional_modules_fail_with_a_line_naming_their_extra():
    for module, extra in OPTIONAL.items():
        for path in (REPO / "ganzoo").rglob("*.py"):
            text = path.read_text()
            if re.search(rf"^\s*(from|import) {module}\b", text, re.M):
                assert f"ganzoo[{extra}]" in text, f"{path} imports {module} without naming the extra 'ganzoo[{extra}]'"


def minimum_python(specifier: str | None) -> tuple[int, ...]:
    found = re.search(r">=\s*(\d+(?:\.\d+)*)", specifier or "")
    return tuple(int(part) for part in found.group(1).split(".")) if found else (3,)


def test_python_requires_is_as_strict_as_the_dependencies():
    """setup.py's python_requires must not promise a Python that a dependency refuses (keras 3.15
    needs 3.11: on 3.10 pip would stop at it)."""
    required, _ = requirements()
    ours = minimum_python(importlib.metadata.metadata("ganzoo").get("Requires-Python"))
    for name in required:
        try:
            theirs = minimum_python(importlib.metadata.metadata(name).get("Requires-Python"))
        except importlib.metadata.PackageNotFoundError:
            continue
        assert ours >= theirs, f"ganzoo says Python >= {ours}, {name} needs >= {theirs}"
