"""`ilm plugins`: every discovered plugin, where it comes from and which road-map cells it implements."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ilm_core.errors import PluginError
from ilm_core.records import PluginSpec
from ilm_core.registry import Registry, default_registry

#: below this width the table would split words; one block per plugin reads better
TABLE_WIDTH = 160
STATUS_STYLE = {"ok": "green", "unavailable": "yellow", "broken": "red"}


def factory_problem(spec: PluginSpec) -> str | None:
    """Import a lazy factory ("module:attr"): the reason it fails, or None when it loads."""
    try:
        spec.load_factory()
    except Exception as exc:
        return f"its factory {spec.factory!r} does not import: {type(exc).__name__}: {' '.join(str(exc).split())}"
    return None


def plugin_rows(registry: Registry, check: bool = False) -> list[dict[str, Any]]:
    """One row per plugin; `check=True` also imports every factory (what a run would import)."""
    rows = []
    for spec in registry.all_specs():
        missing = spec.missing_requirements()
        problem = factory_problem(spec) if check and not missing else None
        row = {
            "kind": spec.kind,
            "name": spec.name,
            "summary": spec.summary,
            "distribution": spec.distribution,
            "roadmap": list(spec.roadmap),
            "capabilities": sorted(spec.capabilities),
            "status": "broken" if problem else "unavailable" if missing else "ok",
            "install": spec.install_hint if missing else None,
        }
        if problem:
            row["reason"] = problem
        rows.append(row)
    for broken in registry.broken:
        rows.append(
            {
                "kind": "?",
                "name": broken.name,
                "summary": "",
                "distribution": broken.distribution,
                "roadmap": [],
                "capabilities": [],
                "status": "broken",
                "install": None,
                "reason": broken.reason,
            }
        )
    return rows


def status_text(row: dict[str, Any]) -> Text:
    """The status, and what to do about it, as plain text (an install hint like '.[fairseq]' is not markup)."""
    text = Text(row["status"], style=STATUS_STYLE[row["status"]])
    if row["status"] == "unavailable" and row["install"]:
        text.append(f": {row['install']}")
    elif row["status"] == "broken":
        text.append(f": {row['reason']}")
    return text


def plugins(
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
    check: bool = typer.Option(
        False, "--check", help="also import every plugin's code (a lazy factory is otherwise imported only by a run)"
    ),
) -> None:
    """List every discovered plugin: kind, name, summary, distribution, road-map cells."""
    rows = plugin_rows(default_registry(), check=check)
    if as_json:
        print(json.dumps(rows, indent=2))
    else:
        console = Console()
        if console.width >= TABLE_WIDTH:
            console.print(_table(rows))
        else:
            _blocks(console, rows)
    broken = [r for r in rows if r["status"] == "broken"]
    if check and broken:
        names = ", ".join(f"{r['kind']} '{r['name']}' ({r['distribution']})" for r in broken)
        raise PluginError(f"ilm plugins --check: {len(broken)} plugin(s) are installed but broken: {names}; see above")


def _table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="ilm plugins")
    table.add_column("kind", no_wrap=True)
    table.add_column("name", no_wrap=True)
    table.add_column("summary", ratio=2)
    table.add_column("from", no_wrap=True)
    table.add_column("road-map cells", no_wrap=True)
    table.add_column("status", ratio=1)
    for row in rows:
        table.add_row(
            row["kind"],
            row["name"],
            Text(row["summary"]),
            str(row["distribution"]),
            "\n".join(row["roadmap"]),
            status_text(row),
        )
    return table


def _blocks(console: Console, rows: list[dict[str, Any]]) -> None:
    """One short block per plugin: lines wrap between words, never inside a name or an id."""
    for row in rows:
        head = Text.assemble((f"{row['kind']} ", "dim"), (row["name"], "bold cyan"), f"  from {row['distribution']}  ")
        head.append_text(status_text(row))
        console.print(head)
        if row["summary"]:
            console.print(Text("  " + row["summary"]), highlight=False)
        if row["roadmap"]:
            console.print(Text("  road map: " + ", ".join(row["roadmap"])), highlight=False)
        console.print()
