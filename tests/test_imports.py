"""The package's imports: no circle (lazy ones included), and a GANConfig without torch.

The walk reads every module's source with ast: ``import`` and ``from ... import`` statements
wherever they stand (module level, inside functions, under ``if TYPE_CHECKING``), and
``importlib.import_module`` / ``__import__`` calls: with a literal name, that module; with a name
computed at run time, every string in the module that names a package module exactly (the way
a table of lazily loaded registries names them). An import of a package's name only
(``from gancheck import GANConfig``) is an edge to its ``__init__``.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "gancheck"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted((ROOT / PACKAGE).rglob("*.py"))}


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    """The package module ``name`` loads, or None outside the package."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str, path: Path, known: dict[str, Path]) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    computed = False  # an import_module call whose name is not a literal
    strings = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in known:
            strings.add(node.value)
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's own package upwards
                anchor = module.split(".") if is_package else module.split(".")[:-1]
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            # `from pkg import sub` loads pkg.sub where sub is a module, else pkg itself.
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        elif (isinstance(node, ast.Call) and node.args
              and ((isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                   or (isinstance(node.func, ast.Name) and node.func.id in ("import_module", "__import__")))):
            if isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                names = [node.args[0].value]
            else:
                computed = True
        for name in names:
            target = _resolve(name, known) if name.startswith(PACKAGE) else None
            if target and target != module:
                found.add(target)
    if computed:
        found |= strings - {module}
    return found


def import_graph() -> dict[str, set[str]]:
    known = _modules()
    return {module: _imports(module, path, known) for module, path in known.items()}


def find_circle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle (its modules in order, the first repeated at the end), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                circle = visit(nxt)
                if circle:
                    return circle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            circle = visit(start)
            if circle:
                return circle
    return None


def test_the_walk_sees_lazy_and_importlib_imports():
    # Hand-made graph checks of the walker itself, so that "no circle" below can fail.
    assert find_circle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_circle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    graph = import_graph()
    # gancheck/__init__.py imports its scoring lazily, inside a function: the walk sees it.
    assert "gancheck.stats.scoring" in graph["gancheck"]
    # A function-level import (engine asks the registries whether compiling pays).
    assert "gancheck.gan.features" in graph["gancheck.gan.engine"]


def test_importlib_strings_are_edges(tmp_path):
    known = _modules()
    path = tmp_path / "m.py"
    path.write_text('import importlib\ndef f():\n    return importlib.import_module("gancheck.gan.features")\n')
    assert _imports("gancheck.m", path, known) == {"gancheck.gan.features"}
    # A name computed at run time from a table, as config.py once loaded the gan registries.
    path.write_text('import importlib\nTABLE = {"F": ("gancheck.gan.features", "F")}\n'
                    'def f(key):\n    return importlib.import_module(TABLE[key][0])\n')
    assert _imports("gancheck.m", path, known) == {"gancheck.gan.features"}


def test_no_import_circle():
    circle = find_circle(import_graph())
    assert circle is None, "import circle: " + " -> ".join(circle)


def test_config_and_declaration_import_nothing_of_the_package_above_them():
    graph = import_graph()
    # The declaration checks a target spec with gancheck.targets: it, and whatever it reaches,
    # are top-level modules beside the declaration, never a layer (gan, stats, runs, report,
    # cli), the config or the package's __init__.
    assert graph["gancheck.fields"] == {"gancheck.targets"}
    reached, todo = set(), ["gancheck.fields"]
    while todo:
        for module in graph[todo.pop()] - reached:
            reached.add(module)
            todo.append(module)
    assert all(m.count(".") == 1 and m != "gancheck.config" for m in reached), reached
    assert graph["gancheck.config"] == {"gancheck.fields"}


def test_building_a_config_does_not_import_torch():
    code = ("import sys, gancheck\n"
            "cfg = gancheck.GANConfig()\n"
            "cfg.replace(features='raw', generator='per_value').digest()\n"
            "cfg.replace(target='gamma(a=2)').data_target.mean\n"
            "print(cfg.d_input_size, cfg.g_noise_size, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    # The seed's D sees 4 moments; its G takes 50 noise numbers (docs/seed.md).
    assert out.stdout.split() == ["4", "50", "False"], out.stdout + out.stderr


@pytest.mark.parametrize("module", ["gancheck.fields", "gancheck.config", "gancheck.targets"])
def test_declaration_modules_import_without_torch(module):
    code = f"import sys, {module}; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "False", out.stderr
