"""`ilm roadmap`: Table 1 cell by cell, with the installed plugins that implement each step."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.padding import Padding
from rich.text import Text

from ilm_core.registry import default_registry
from ilm_core.roadmap import CellStatus, Roadmap, build_roadmap

STAR = "★"


def roadmap(
    missing: bool = typer.Option(False, "--missing", help="only the cells no installed plugin implements"),
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
) -> None:
    """Show the road map (the paper's Table 1): each step, whether the paper took it (★), and
    which installed plugins implement it."""
    result = build_roadmap(default_registry())
    err = Console(stderr=True, soft_wrap=True)
    for warning in result.warnings:
        err.print(Text("warning: ", style="bold yellow") + Text(warning))
    if as_json:
        print(json.dumps(result.to_dict(missing_only=missing), indent=2))
        return
    _print(Console(), result, missing)


def _print(console: Console, result: Roadmap, missing: bool) -> None:
    shown = result.missing() if missing else result.cells
    depth = _depths(result.cells)
    component = group = None
    for status in shown:
        cell = status.cell
        if cell.component != component:
            component, group = cell.component, None
            console.rule(Text(cell.component.capitalize(), style="bold"))
        if cell.group != group:
            group = cell.group
            console.print(Text(f"{group}", style="bold cyan"))
        left = 2 * (1 + depth[cell.id])
        line = Text(f"{STAR} " if cell.paper else "• ", style="bold yellow" if cell.paper else "")
        line.append(cell.text)
        console.print(Padding(line, (0, 0, 0, left), expand=False))
        details = [Text(f"– {item}") for item in cell.items]
        about = Text(cell.id, style="dim")
        if cell.contributed_by:
            about.append(f"  (cell added by {cell.contributed_by})", style="magenta")
        details += [about, _implementers(status)]
        for detail in details:
            console.print(Padding(detail, (0, 0, 0, left + 4), expand=False))
    done = len(result.cells) - len(result.missing())
    partly = sum(1 for s in result.missing() if s.refinements_implemented)
    paper = [s for s in result.cells if s.cell.paper]
    console.print(
        f"\n{done} of {len(result.cells)} steps implemented by installed plugins"
        + (f" ({partly} more through their refinements)" if partly else "")
        + f"; {sum(s.implemented for s in paper)} of the {len(paper)} steps the paper took ({STAR})."
        + ("" if missing else " `ilm roadmap --missing` lists only the steps no plugin names.")
    )


def _implementers(status: CellStatus) -> Text:
    if not status.implemented and status.refinements_implemented:
        return Text(
            "not implemented itself; refinements implemented: " + ", ".join(status.refinements_implemented),
            style="yellow",
        )
    if not status.implemented:
        return Text("not implemented", style="dim red")
    names = ", ".join(f"{i.kind} {i.name} ({i.distribution})" for i in status.implemented_by)
    return Text(f"implemented by: {names}", style="green")


def _depths(cells: list[CellStatus]) -> dict[str, int]:
    """How deep each cell sits below a parent in the same group (for indentation)."""
    by_id = {s.cell.id: s.cell for s in cells}
    depths: dict[str, int] = {}
    for cell in by_id.values():
        depth, current, seen = 0, cell, {cell.id}
        while current.parent in by_id and by_id[current.parent].group == cell.group and current.parent not in seen:
            current = by_id[current.parent]
            seen.add(current.id)
            depth += 1
        depths[cell.id] = depth
    return depths
