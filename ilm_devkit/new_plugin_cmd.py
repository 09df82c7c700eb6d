"""`ilm new-plugin`: write a ready-to-install plugin package, so a new road-map step starts
from working code (pyproject with the entry point, the component, its params model, a test)."""

from __future__ import annotations

import re
from pathlib import Path

import typer
from rich.console import Console

from ilm_core.errors import ConfigError
from ilm_devkit.templates import SUPPORTED_KINDS, names, render

_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


def new_plugin(
    name: str = typer.Argument(..., metavar="NAME", help="lowercase words joined by dashes, e.g. my-teacher"),
    kind: str = typer.Option(..., "--kind", "-k", metavar="KIND", help=f"component kind: {', '.join(SUPPORTED_KINDS)}"),
    out: Path = typer.Option(Path("."), "--out", "-o", metavar="DIR", help="folder in which to create ilm-NAME/"),
) -> None:
    """Create the package ilm-NAME/: a working KIND plugin, its entry point, README and a test."""
    write_plugin(name, kind, out)


def write_plugin(name: str, kind: str, out: Path) -> Path:
    """Write the package and return its folder; errors are `ConfigError`s (exit code 2)."""
    if not _NAME.match(name):
        raise ConfigError(
            f"invalid plugin name {name!r}: use lowercase letters, digits and single dashes, starting "
            "with a letter (e.g. 'my-teacher'); it becomes the name users type and the package ilm-NAME"
        )
    kind = kind.strip().lower()
    if kind not in SUPPORTED_KINDS:
        raise ConfigError(
            f"ilm new-plugin cannot write a {kind!r} plugin yet; supported kinds: {', '.join(SUPPORTED_KINDS)}. "
            "For other kinds, start from one of these and see docs/writing-plugins.md."
        )
    folder = out / names(name)["dist"]
    if folder.exists():
        raise ConfigError(
            f"{str(folder)!r} already exists; choose another name or --out folder, or remove it first "
            "(ilm new-plugin never overwrites files)"
        )
    for rel, text in render(kind, name).items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    console = Console(soft_wrap=True)
    console.print(f"created {folder}/ with the {kind} plugin '{name}'. Next:")
    console.print(f"  pip install -e {folder}    # then `ilm plugins` lists it")
    console.print(f"  pytest {folder}/tests        # its tests, in-process")
    return folder
