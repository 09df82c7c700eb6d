"""The core is the protocol and its contracts: its modules import each other without a cycle
(so each can be read, typed and tested alone) and import nothing from the packages beside it."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "ilm_core"
#: the packages beside the core: plugins of it, never imported by it
BESIDE = ("ilm_plugins", "ilm_report", "ilm_devkit", "ilm_roadmap", "ilm_threads", "ilm_sweep")


def _modules(root: Path) -> dict[str, Path]:
    out = {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(root.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _runtime_imports(path: Path) -> list[str]:
    """Every module an import statement names, at any depth, except under `if TYPE_CHECKING:`."""
    found: list[str] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append(node.module)
            found.extend(f"{node.module}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return found


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the modules of the same package it imports (the package's `__init__` left out:
    it is the public face that imports everything, and no module imports it for a name)."""
    modules = _modules(root)
    return {
        name: {t for t in _runtime_imports(path) if t in modules and t not in (name, root.name)}
        for name, path in modules.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return out


def test_the_core_has_no_import_cycle():
    assert cycles(import_graph(CORE)) == []


def test_the_cycle_finder_finds_a_cycle(tmp_path: Path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from pkg.b import g\n")
    (pkg / "b.py").write_text("from pkg import a\n")
    (pkg / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import a\n")
    assert cycles(import_graph(pkg)) == [["pkg.a", "pkg.b"]]


def test_the_core_imports_nothing_beside_it():
    for name, path in _modules(CORE).items():
        beside = [t for t in _runtime_imports(path) if t.split(".")[0] in BESIDE]
        assert beside == [], f"{name} imports {beside}"


def test_the_old_test_helpers_module_forwards_with_a_warning():
    import pytest

    import ilm_core.testing
    from ilm_devkit import testing

    with pytest.warns(DeprecationWarning, match="ilm_devkit.testing.run_tiny"):
        assert ilm_core.testing.run_tiny is testing.run_tiny
