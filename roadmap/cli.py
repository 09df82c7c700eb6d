"""`ilm roadmap`: Table 1 item by item, each step's status from evidence (implemented, partial,
missing), the plugins that claim it, its study's headline and the command that re-runs it;
`ilm roadmap study CELL` re-runs a study and compares its number with the recorded one."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import typer
from rich.console import Console
from rich.padding import Padding
from rich.text import Text

from ilm_core.errors import ConfigError
from ilm_core.registry import default_registry

from .status import STATUSES, CellStatus, Roadmap, build_roadmap, rerun_study

STAR = "∗"
STYLE = {"implemented": "green", "partial": "yellow", "missing": "red", "condition": "cyan"}
SECTIONS = {
    "table1": "Table 1 of the paper",
    "beyond": "Beyond the paper (roadmap/beyond-the-paper.yaml; not counted)",
    "plugin": "Cells added by plugins (not counted)",
}

app = typer.Typer(
    invoke_without_command=True,
    no_args_is_help=False,
    help="The road map (the paper's Table 1): each step's status from evidence, who claims it, its study.",
)

TABLE_OPTION = typer.Option(
    None, "--table", help="a road-map file (table1.yaml) or its folder; default $ILM_ROADMAP, else the shipped one"
)


@app.callback()
def roadmap(
    ctx: typer.Context,
    status: str | None = typer.Option(None, "--status", help="only the cells with this status: " + ", ".join(STATUSES)),
    missing: bool = typer.Option(False, "--missing", help="only the missing cells (same as --status missing)"),
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
    table: Path | None = TABLE_OPTION,
) -> None:
    """Show the road map (the paper's Table 1): each step's status (implemented, partial, missing),
    the installed plugins that claim it, its study's headline and how to re-run it."""
    if ctx.invoked_subcommand is not None:
        ctx.obj = {"table": table}
        return
    if missing:
        status = "missing"
    if status is not None and status not in STATUSES:
        raise ConfigError(f"--status {status!r}: choose one of {', '.join(STATUSES)}")
    result = build_roadmap(default_registry(), table=table)
    err = Console(stderr=True, soft_wrap=True)
    for warning in result.warnings:
        err.print(Text("warning: ", style="bold yellow") + Text(warning))
    if as_json:
        print(json.dumps(result.to_dict(status=status), indent=2, ensure_ascii=False))
        return
    _print(Console(), result, status)


@app.command("study")
def study(
    ctx: typer.Context,
    cell: str = typer.Argument(..., help="the cell id whose study to re-run (`ilm roadmap` lists them)"),
    full: bool = typer.Option(False, "--full", help="the full study, not the cut-down re-run"),
    out: Path | None = typer.Option(None, "--out", help="folder for the re-run's output (default: a temporary one)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="print the command and the recorded number, run nothing"),
    table: Path | None = TABLE_OPTION,
) -> None:
    """Re-run a cell's study (cut down; --full for all of it) and compare with the recorded number.

    Run it from a checkout of ilm: the studies' commands read configs/ and experiments/."""
    table = table or (ctx.obj or {}).get("table")
    result = build_roadmap(default_registry(), table=table)
    try:
        status = result.get(cell)
    except KeyError:
        raise ConfigError(f"no road-map cell {cell!r}; `ilm roadmap` lists every cell id") from None
    if status.study is None:
        raise ConfigError(f"cell {cell!r} has no study; add roadmap/studies/{cell}.yaml (roadmap/README.md)")
    console = Console(soft_wrap=True)
    recorded = status.study
    console.print(Text(f"{cell} [{status.status}]", style="bold " + STYLE.get(status.status, "")))
    console.print(f"recorded ({recorded.date}, commit {recorded.commit or '?'}): {recorded.headline}")
    if out is not None:
        folder = out
    elif dry_run:
        folder = Path(tempfile.gettempdir()) / f"ilm-study-{cell}"
    else:
        folder = Path(tempfile.mkdtemp(prefix=f"ilm-study-{cell}-"))
    run = rerun_study(recorded, folder, full=full, dry_run=dry_run)
    console.print(Text(f"$ {run.command}", style="dim"))
    check = recorded.full if full else recorded.quick
    if check is not None and check.note:
        console.print(Text(check.note, style="dim"))
    if dry_run:
        if run.expected is not None:
            console.print(f"would compare {check.read if check else '?'} with {run.expected} ± {run.tolerance}")
        return
    if run.returncode != 0:
        console.print(Text(f"the study's command failed (exit {run.returncode}); output in {folder}", style="red"))
        raise typer.Exit(1)
    if run.agrees is None:
        console.print(f"done; output in {folder}. No number to compare automatically; the recorded result:")
        console.print(Padding(Text(recorded.result or recorded.headline), (0, 0, 0, 2)))
        return
    verdict = "agrees" if run.agrees else "DISAGREES"
    console.print(
        Text(
            f"re-run: {run.value:.4g}; recorded: {run.expected:.4g} ± {run.tolerance:.4g}: {verdict}",
            style="green" if run.agrees else "bold red",
        )
    )
    if not run.agrees:
        raise typer.Exit(1)


def _print(console: Console, result: Roadmap, status: str | None) -> None:
    shown = result.with_status(status) if status else result.cells
    depth = _depths(result.cells)
    section = component = group = None
    for s in shown:
        cell = s.cell
        if s.section != section and not (s.section == "plugin" and cell.parent in depth):
            section, component, group = s.section, None, None
            console.print(Text(f"\n{SECTIONS.get(s.section, s.section)}", style="bold underline"))
        if cell.component != component:
            component, group = cell.component, None
            console.rule(Text(cell.component.capitalize(), style="bold"))
        if cell.group != group:
            group = cell.group
            console.print(Text(f"{group}", style="bold cyan"))
        left = 2 * (1 + depth[cell.id])
        label = s.status if s.kind != "parent" else f"{s.status}, through its sub-items"
        line = Text(f"[{label}] ", style=STYLE.get(s.status, ""))
        line.append(cell.text)
        if cell.paper and STAR not in cell.text:
            line.append(f" {STAR}", style="bold yellow")
        console.print(Padding(line, (0, 0, 0, left), expand=False))
        for detail in _details(s):
            console.print(Padding(detail, (0, 0, 0, left + 4), expand=False))
    if result.broken:
        console.print(Text("\nPlugins that failed to load", style="bold underline"))
        for b in result.broken:
            console.print(Text(f"  {b.name} (from {b.distribution}): {b.reason}", style="red"))
    c = result.coverage()
    console.print(
        f"\nTable 1 coverage: {c.implemented} implemented, {c.partial} partial, {c.missing} missing of the "
        f"paper's {c.steps} steps ({c.printed_leaves} leaf items as printed, less the {c.conditions} "
        f'"(No{STAR})" conditions the paper took, shown as conditions). Implemented = a plugin claims it and its '
        "study shows the mechanism working against an ablation (roadmap/README.md)."
        + ("" if status else " `ilm roadmap --status partial` lists the partial ones with their reasons.")
    )


def _details(s: CellStatus) -> list[Text]:
    cell = s.cell
    about = Text(cell.id, style="dim")
    if cell.contributed_by:
        about.append(f"  (cell added by {cell.contributed_by})", style="magenta")
    lines = [about]
    who = ", ".join(f"{i.kind} {i.name} ({i.distribution})" for i in s.implemented_by)
    if s.kind == "condition":
        lines.append(
            Text(f"the paper's condition ({STAR}), not a step: not counted" + (f"; taken by: {who}" if who else ""))
        )
        return lines
    if who:
        lines.append(Text(f"claimed by: {who}", style="green" if s.status == "implemented" else ""))
    for f in s.failed_claims:
        what = "an unavailable plugin" if f.unavailable else "a plugin that failed to load"
        style = "yellow" if f.unavailable else "red"
        lines.append(Text(f"claimed by {what}: {f.plugin} (from {f.distribution}): {f.reason}", style))
    if s.reason and s.status != "implemented":
        lines.append(Text(f"why: {s.reason}", style=STYLE.get(s.status, "")))
    if s.study is not None:
        lines.append(Text(f"study: {s.study.headline}"))
        if s.study.was_run:
            rerun = f"ilm roadmap study {cell.id}" + ("" if s.study.quick else " --full")
            lines.append(Text(f"re-run: {rerun}", style="dim"))
    return lines


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
