"""The shape of the code (ARCHITECTURE.md): no import cycles, lower layers never import higher
ones, the kind of a model is decided in ganzoo/tasks/ only, library errors name no command-line
flag, and the Keras workarounds name the Keras that is installed."""

from __future__ import annotations

import ast
import re

from conftest import REPO

PACKAGE = REPO / "ganzoo"
# Layer of each module, by the longest matching prefix (ARCHITECTURE.md has the table).
LAYERS = {
    "ganzoo": 0, "ganzoo.errors": 0, "ganzoo.files": 0, "ganzoo.images": 0, "ganzoo.registry": 0,
    "ganzoo.tf_runtime": 0, "ganzoo.compat": 0, "ganzoo.lazy": 0,
    "ganzoo.layers": 1, "ganzoo.losses": 1, "ganzoo.schedules": 1, "ganzoo.data": 1, "ganzoo.metrics": 1,
    "ganzoo.export.signatures": 1, "ganzoo.export.gates": 1,
    "ganzoo.models": 2,
    "ganzoo.recipes": 3,
    "ganzoo.tasks": 4,
    "ganzoo.export": 5, "ganzoo.training": 5, "ganzoo.zoo": 5,
    "ganzoo.actions": 6, "ganzoo.metrics.evaluate": 6, "ganzoo.bench": 6, "ganzoo.zoo.publish": 6, "ganzoo.cli": 6,
}


def module_name(path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def layer(module: str) -> int:
    prefix = max((p for p in LAYERS if module == p or module.startswith(p + ".")), key=len)
    return LAYERS[prefix]


def imports(module: str) -> set[str]:
    """The ganzoo modules `module` imports anywhere in its code (function-level imports too)."""
    found = set()
    for node in ast.walk(ast.parse(MODULES[module].read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:  # `from p import m` (a module) or `from m import name`
            names = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in MODULES else node.module for a in node.names]
        else:
            continue
        found |= {name for name in names if name in MODULES and name != module}
    return found


def test_every_module_has_a_layer_and_no_lower_layer_imports_a_higher_one():
    upward = []
    for module in MODULES:
        for imported in imports(module):
            if layer(imported) > layer(module):
                upward.append(f"{module} (layer {layer(module)}) imports {imported} (layer {layer(imported)})")
    assert not upward, "\n".join(upward)


def test_no_import_cycles():
    """Importing ganzoo.p.q from outside package ganzoo.p also runs ganzoo/p/__init__.py, so that
    counts as an import too (a package's own modules find it running already)."""
    graph = {}
    for module in MODULES:
        graph[module] = set()
        for imported in imports(module):
            parts = imported.split(".")
            packages = {".".join(parts[:i]) for i in range(2, len(parts))}
            graph[module] |= {imported} | {p for p in packages if p in MODULES and not (module + ".").startswith(p + ".")}
    state, cycles = {}, []

    def visit(module, path):
        state[module] = "open"
        for imported in sorted(graph[module]):
            if state.get(imported) == "open":
                cycles.append(" -> ".join(path[path.index(imported):] + [imported]))
            elif imported not in state:
                visit(imported, path + [imported])
        state[module] = "done"

    for module in sorted(MODULES):
        if module not in state:
            visit(module, [module])
    assert not cycles, "\n".join(cycles)


def python_sources(exclude: tuple[str, ...] = ()):
    for path in sorted(PACKAGE.rglob("*.py")):
        if not any(str(path.relative_to(REPO)).startswith(e) for e in exclude):
            yield path, path.read_text()


def test_only_the_tasks_decide_by_kind_of_model():
    branches = [f"{path.relative_to(REPO)}: {line.strip()}" for path, text in python_sources(("ganzoo/tasks/",))
                for line in text.splitlines() if re.search(r"\.task\s*(==|!=|\bin\b)|\btask\.name\s*(==|!=|\bin\b)", line)]
    assert not branches, "\n".join(branches)


def test_library_errors_name_no_command_line_flag():
    found = []
    for path, text in python_sources(("ganzoo/cli.py",)):
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Raise) and node.exc is not None:
                for constant in ast.walk(node.exc):
                    if isinstance(constant, ast.Constant) and isinstance(constant.value, str) and re.search(r"--[a-z]", constant.value):
                        found.append(f"{path.relative_to(REPO)}:{node.lineno}: {constant.value!r}")
    assert not found, "\n".join(found)


def test_comments_stand_on_their_own():
    outside = [f"{path.relative_to(REPO)}" for path, text in python_sources() if "../shared" in text]
    assert not outside, f"refer to files outside the repository: {outside}"


def test_keras_workarounds_name_the_installed_keras():
    from ganzoo.compat import KERAS_CHECKED, installed_keras

    assert installed_keras() == KERAS_CHECKED, (
        f"Keras {installed_keras()} is installed, the workarounds were verified on {KERAS_CHECKED}: re-check them "
        "(ganzoo/compat.py lists them) and update KERAS_CHECKED and setup.py")
    named = {m for _, text in python_sources() for m in re.findall(r"Keras (3\.\d+)", text)}
    assert named == {KERAS_CHECKED}, named


def test_the_trainer_sets_no_attributes_on_models():
    """What the trainer knows of the data reaches callbacks as arguments, not as model attributes
    read back with getattr."""
    for path, text in python_sources():
        if "ganzoo/training/" in str(path) or "ganzoo/tasks/" in str(path):
            assignments = set(re.findall(r"\bmodel\.(\w+)\s*=[^=]", text)) - {"stop_training"}  # Keras' own flag
            assert not assignments, (path, assignments)
            assert "getattr(self.model" not in text and "getattr(model" not in text, path
