"""`ilm inspect RUN_DIR...`: the pool sentences each run's teacher favours most, at its last checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ilm_core import process
from ilm_core.cache import SetupCache
from ilm_core.cli.outputs import table_console, writable_file
from ilm_core.cli.steps_display import RichSteps
from ilm_core.errors import IlmError, RunDirError
from ilm_core.files import atomic_write_json
from ilm_core.interfaces import SetupTools
from ilm_core.registry import default_registry
from ilm_core.rundir import PROVENANCE
from ilm_devkit import provenance
from ilm_devkit.inspection import NoPreferencesError, TeacherView, inspect_teacher
from ilm_report.runs import find_runs


def inspect(
    runs: list[Path] = typer.Argument(..., help="run directories, or folders holding them (a sweep)"),
    top: int = typer.Option(12, "--top", "-n", min=1, help="how many of the most favoured sentences to list"),
    json_out: Path = typer.Option(None, "--json", help="also write each run's whole ranking (every pool sentence)"),
    device: str = typer.Option(None, "--device", help="rebuild the teacher here instead of on the run's device"),
    no_cache: bool = typer.Option(False, "--no-cache", help="rebuild the teacher's LM instead of reusing it"),
) -> None:
    """What the teacher has learned: its most favoured pool sentences, marked exam domain or not.

    One run: its ranking. Several (a sweep): one line per run, reference runs skipped.
    """
    console = table_console()
    if json_out is not None:
        writable_file(json_out, "--json")  # before minutes of rebuilding teachers

    def notify(message: str) -> None:
        console.print(Text("notice: ", style="yellow") + Text(message), highlight=False, soft_wrap=True)

    found = find_runs(runs)
    registry = default_registry()
    # -- set-up: progress steps and the set-up cache (ilm_core/progress.py, ilm_core/cache.py) --
    process.apply()  # the thread plan the entry point made (the teacher's LM may be pretrained here)
    steps = RichSteps(console)
    tools = SetupTools(steps=steps, cache=SetupCache.from_env(enabled=not no_cache, notify=notify), notify=notify)
    if len(found) == 1:
        _print_provenance(console, found[0].path)  # before the teacher is rebuilt: it needs no work
        views = [inspect_teacher(found[0].path, registry, notify, device, tools)]
        _print_ranking(console, views[0], top)
    else:
        views = []
        for run in found:
            try:
                views.append(inspect_teacher(run.path, registry, notify, device, tools))
            except NoPreferencesError:
                notify(f"skipped {run.path}: teacher '{run.teacher}' keeps no per-sentence preferences")
            except IlmError as exc:
                notify(f"skipped {run.path}: {exc}")
        if not views:
            raise RunDirError(
                f"none of the {len(found)} runs under {', '.join(map(str, runs))} has a teacher with preferences "
                "to inspect (see the notices above)"
            )
        _print_overview(console, views, top)
    if json_out is not None:
        documents = [_document(view) for view in views]
        atomic_write_json(json_out, documents[0] if len(documents) == 1 else documents)
        console.print(f"ranking: {json_out}")


def _print_provenance(console: Console, run: Path) -> None:
    """Where the run came from (provenance.json): versions, commit, command line, host, threads."""
    document = provenance.read(run)
    if document is None:
        console.print(f"{run}: no {PROVENANCE} (a run written before ilm recorded where runs come from)")
        return
    table = Table(title=f"where {run} came from ({PROVENANCE})", show_header=False)
    table.add_column("what")
    table.add_column("value", overflow="fold")
    for what, value in provenance.describe(document):
        table.add_row(what, Text(value))
    console.print(table)


def _print_ranking(console: Console, view: TeacherView, top: int) -> None:
    cfg, prefs = view.config, view.preferences
    table = Table(title=f"{cfg.teacher.name} after episode {view.episode} of {view.run}: {prefs.meaning}")
    table.add_column("rank", justify="right")
    table.add_column("value", justify="right")
    table.add_column(view.data.exam_domain)
    table.add_column("sentence", overflow="fold")
    for row in view.ranking(top):
        value = f"{row['value']:+.3f}" + (f" ± {row['std']:.3f}" if row["std"] is not None else "")
        table.add_row(str(row["rank"]), value, _in_domain(row["exam_domain"]), row["sentence"])
    console.print(table)
    k = cfg.budget
    if view.data.pool_in_exam_domain is None:
        console.print(
            f"environment '{cfg.environment.name}' does not label its pool by the exam's domain, so the ranking "
            "cannot say which favoured sentences are from it."
        )
        return
    console.print(
        f"{view.exam_domain_in_top(k)} of the {k} most favoured sentences (one lesson's budget) are from "
        f"{view.data.exam_domain}; the pool holds {sum(view.data.pool_in_exam_domain)} of {len(view.data.pool)}."
    )


def _print_overview(console: Console, views: list[TeacherView], top: int) -> None:
    table = Table(title="what each run's teacher favours at its last checkpoint")
    for col in ("run", "teacher", "episode", "exam domain in its best lesson", f"outside it, in its top {top}"):
        table.add_column(col, overflow="fold")
    for view in views:
        k = view.config.budget
        outside = [f"#{row['rank']} {row['sentence']}" for row in view.ranking(top) if row["exam_domain"] is False]
        table.add_row(
            str(view.run),
            view.config.teacher.name,
            str(view.episode),
            "-" if view.exam_domain_in_top(k) is None else f"{view.exam_domain_in_top(k)} of {k}",
            "; ".join(outside) or "-",
        )
    console.print(table)


def _in_domain(label: bool | None) -> str:
    return "-" if label is None else "yes" if label else "[red]no[/]"


def _document(view: TeacherView) -> dict[str, Any]:
    k = view.config.budget
    return {
        "run": str(view.run),
        "teacher": view.config.teacher.name,
        "episode": view.episode,
        "checkpoint": str(view.checkpoint),
        "meaning": view.preferences.meaning,
        "exam_domain": view.data.exam_domain,
        "budget": k,
        "exam_domain_in_top_budget": view.exam_domain_in_top(k),
        "provenance": provenance.read(view.run),
        "ranking": view.ranking(),
    }
