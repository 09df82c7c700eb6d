"""The public API boundary: plugins, experiments and benchmarks use only what `ilm_core` exports.

A third-party plugin can only rely on `ilm_core`'s public names; if our own plugins reached
into core modules or private names, an outsider could not write what they write. The checker
walks the import statements (ast) of every Python file under the checked folders and reports:

- an import of an `ilm_core` submodule (`import ilm_core.loop`, `from ilm_core.config import ...`) other than
  `ilm_devkit.testing`, the test helpers;
- a name imported from `ilm_core` that is not in `ilm_core.__all__`;
- a private name (leading underscore) imported from a module outside the importer's own package,
  or a private module in an import path (`from torch._dynamo import ...`);
- a private attribute of an imported module (`torch._fused_adam_`).
"""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass
from pathlib import Path

import ilm_core

ROOT = Path(__file__).resolve().parents[1]
CHECKED = ("plugins", "experiments", "benchmarks")
SKIPPED_PARTS = {"build", ".venv", "__pycache__"}
#: submodules of ilm_core that are public too: the test helpers of plugin authors
PUBLIC_MODULES = {"ilm_devkit.testing"}
#: underscore names that the Python documentation makes public
DOCUMENTED_PUBLIC = {"os._exit"}


@dataclass(frozen=True)
class Violation:
    file: str
    line: int
    target: str  # the module, or module.name, that was imported
    why: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.target}: {self.why}"


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _package_of(path: Path, root: Path) -> str:
    """The dotted package a file belongs to, by walking up through `__init__.py` folders."""
    parts: list[str] = []
    folder = path.parent
    while (folder / "__init__.py").is_file() and folder != root:
        parts.insert(0, folder.name)
        folder = folder.parent
    return ".".join(parts)


def check_file(path: Path, root: Path, public: set[str]) -> list[Violation]:
    """Every import in `path` that crosses the public API boundary."""
    rel = path.relative_to(root).as_posix()
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)
    package = _package_of(path, root)
    found: list[Violation] = []
    modules: set[str] = set()  # local names bound to imported modules, for the attribute check

    def flag(node: ast.AST, target: str, why: str) -> None:
        found.append(Violation(rel, getattr(node, "lineno", 0), target, why))

    def own(module: str) -> bool:
        return bool(package) and (module == package or module.startswith(package + "."))

    def check_module(node: ast.AST, module: str) -> None:
        if module.startswith("ilm_core.") and module not in PUBLIC_MODULES:
            flag(node, module, "a non-public ilm_core module; import the name from `ilm_core`")
        elif not own(module) and any(_private(part) for part in module.split(".")):
            flag(node, module, "a private module of another package")

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                check_module(node, alias.name)
                modules.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the file's own package
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            if module == "__future__":
                continue
            check_module(node, module)
            for alias in node.names:
                if module == "ilm_core" and alias.name not in public:
                    flag(node, f"ilm_core.{alias.name}", "not in `ilm_core.__all__`")
                elif _private(alias.name) and not own(module):
                    flag(node, f"{module}.{alias.name}", "a private name of another package")
                if alias.name[:1].islower() and module in ("ilm_core", "torch", "os", "sys"):
                    modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and _private(node.attr):
            name = f"{node.value.id}.{node.attr}"
            if node.value.id in modules and name not in DOCUMENTED_PUBLIC:
                flag(node, name, "a private attribute of a module")
    return found


def check_tree(root: Path, folders: tuple[str, ...] = CHECKED, public: set[str] | None = None) -> list[Violation]:
    public = set(ilm_core.__all__) if public is None else public
    found: list[Violation] = []
    for folder in folders:
        for path in sorted((root / folder).rglob("*.py")):
            if SKIPPED_PARTS.isdisjoint(path.relative_to(root).parts):
                found.extend(check_file(path, root, public))
    return found


def test_plugins_experiments_and_benchmarks_use_only_the_public_api() -> None:
    violations = check_tree(ROOT)
    assert not violations, "imports across the public API boundary:\n" + "\n".join(map(str, violations))


def test_every_public_name_is_importable() -> None:
    for name in ilm_core.__all__:
        assert getattr(ilm_core, name) is not None, name
        assert not _private(name), name


def _write(root: Path, rel: str, code: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(code), encoding="utf-8")


def test_the_checker_fails_on_private_imports(tmp_path: Path) -> None:
    _write(tmp_path, "plugins/good/__init__.py", "from ilm_core import Teacher, hookimpl\nimport ilm_core\n")
    assert check_tree(tmp_path) == []
    _write(
        tmp_path,
        "plugins/bad/__init__.py",
        """\
        import torch
        import ilm_core.loop
        from ilm_core import Teacher, _secret, not_exported
        from ilm_core.training import StudentTrainer
        from other.pkg import _helper
        from torch._dynamo import config
        from ._mine import ok  # its own package's private module is fine
        from .sub import _also_ok
        torch._fused_adam_([])
        """,
    )
    found = {(v.target, v.line) for v in check_tree(tmp_path)}
    assert found == {
        ("ilm_core.loop", 2),
        ("ilm_core._secret", 3),
        ("ilm_core.not_exported", 3),
        ("ilm_core.training", 4),
        ("other.pkg._helper", 5),
        ("torch._dynamo", 6),
        ("torch._fused_adam_", 9),
    }, found
