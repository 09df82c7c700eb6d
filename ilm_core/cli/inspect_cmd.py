"""`ilm inspect RUN_DIR`: the pool sentences the run's teacher favours most, at its last checkpoint."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ilm_core.inspection import inspect_teacher
from ilm_core.registry import default_registry
from ilm_core.rundir import atomic_write_json


def inspect(
    run: Path = typer.Argument(..., help="a run directory written by `ilm run` (or one run of a sweep)"),
    top: int = typer.Option(12, "--top", "-n", min=1, help="how many of the most favoured sentences to list"),
    json_out: Path = typer.Option(None, "--json", help="also write the whole ranking (every pool sentence) here"),
) -> None:
    """What the teacher has learned: its most favoured pool sentences, marked exam domain or not."""
    console = Console()

    def notify(message: str) -> None:
        console.print(Text("notice: ", style="yellow") + Text(message), highlight=False, soft_wrap=True)

    view = inspect_teacher(run, default_registry(), notify)
    cfg, prefs = view.config, view.preferences
    table = Table(title=f"{cfg.teacher.name} after episode {view.episode} of {run}: {prefs.meaning}")
    table.add_column("rank", justify="right")
    table.add_column("value", justify="right")
    table.add_column(view.data.exam_domain)
    table.add_column("sentence", overflow="fold")
    for row in view.ranking(top):
        value = f"{row['value']:+.3f}" + (f" ± {row['std']:.3f}" if row["std"] is not None else "")
        table.add_row(str(row["rank"]), value, "yes" if row["exam_domain"] else "[red]no[/]", row["sentence"])
    console.print(table)
    k = cfg.budget
    console.print(
        f"{view.exam_domain_in_top(k)} of the {k} most favoured sentences (one lesson's budget) are from "
        f"{view.data.exam_domain}; the pool holds {sum(view.data.pool_in_exam_domain)} of {len(view.data.pool)}."
    )
    if json_out is not None:
        atomic_write_json(
            json_out,
            {
                "run": str(run),
                "teacher": cfg.teacher.name,
                "episode": view.episode,
                "checkpoint": str(view.checkpoint),
                "meaning": prefs.meaning,
                "exam_domain": view.data.exam_domain,
                "budget": k,
                "exam_domain_in_top_budget": view.exam_domain_in_top(k),
                "ranking": view.ranking(),
            },
        )
        console.print(f"ranking: {json_out}")
