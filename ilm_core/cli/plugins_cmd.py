"""`ilm plugins`: every discovered plugin, where it comes from and which road-map cells it implements."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from ilm_core.registry import Registry, default_registry


def plugin_rows(registry: Registry) -> list[dict[str, Any]]:
    rows = []
    for spec in registry.all_specs():
        missing = spec.missing_requirements()
        rows.append(
            {
                "kind": spec.kind,
                "name": spec.name,
                "summary": spec.summary,
                "distribution": spec.distribution,
                "roadmap": list(spec.roadmap),
                "capabilities": sorted(spec.capabilities),
                "status": "unavailable" if missing else "ok",
                "install": spec.install_hint if missing else None,
            }
        )
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


def plugins(as_json: bool = typer.Option(False, "--json", help="machine-readable output")) -> None:
    """List every discovered plugin: kind, name, summary, distribution, road-map cells."""
    rows = plugin_rows(default_registry())
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table(title="ilm plugins")
    for col in ("kind", "name", "summary", "from", "road-map cells", "status"):
        table.add_column(col, overflow="fold")
    for row in rows:
        status = row["status"]
        if status == "unavailable":
            status = f"[yellow]unavailable[/]: {row['install']}"
        elif status == "broken":
            status = f"[red]broken[/]: {row['reason']}"
        table.add_row(
            row["kind"], row["name"], row["summary"], str(row["distribution"]), "\n".join(row["roadmap"]), status
        )
    Console().print(table)
