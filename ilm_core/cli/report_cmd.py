"""`ilm report RUN_DIR...`: Figure 2 panels, Appendix C overlaps and the exam comparison."""

from __future__ import annotations

import math
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from ilm_core import plots
from ilm_core.reporting import find_runs, group_settings, oracle_baselines, privileged_teachers, summary_rows
from ilm_core.rundir import atomic_write_json


def _pm(pair: tuple[float, float], digits: int = 3) -> str:
    mean, std = pair
    if math.isnan(mean):
        return "-"
    return f"{mean:.{digits}g} ± {std:.2g}"


def report(
    runs: list[Path] = typer.Argument(..., help="run directories, or folders holding them (a sweep, baselines)"),
    out: Path = typer.Option(Path("report"), "--out", "-o", help="folder for the PNG figures and report.json"),
) -> None:
    """Aggregate runs (mean ± std over seeds, one line per setting) into figures and a table."""
    console = Console()
    all_runs = find_runs(runs)
    oracles = oracle_baselines(all_runs)
    settings = group_settings(all_runs)
    learners = [s for s in settings if not any(run.is_reference() for run in s.runs)] or settings
    out.mkdir(parents=True, exist_ok=True)
    domain = "the exam domain"
    files = [
        plots.figure2(learners, out / "figure2.png", domain),
        plots.overlaps(learners, out / "overlaps.png"),
        plots.exams(learners, oracles, out / "exams.png"),
    ]
    scored = plots.components(learners, out / "components.png")  # exams with components or pairs only
    if scored is not None:
        files.append(scored)
    rows = summary_rows(settings, oracles)
    table = Table(title=f"last {10} episodes, mean ± std over seeds")
    table.add_column("setting", min_width=24, overflow="fold")
    for col in (
        "runs",
        "fraction from exam domain",
        "feedback ppl",
        "held-out ppl",
        "oracle held-out",
        "taught to the test",
    ):
        table.add_column(col)
    for row in rows:
        flagged = row["taught_to_the_test"]
        table.add_row(
            row["setting"],
            str(row["runs"]),
            _pm(row["fraction"]),
            _pm(row["feedback"]),
            _pm(row["heldout"]),
            _pm(row["oracle_heldout"]),
            f"[red]YES: seeds {', '.join(map(str, flagged))}[/]" if flagged else "no",
        )
    console.print(table)
    privileged = privileged_teachers(all_runs)
    if privileged:
        console.print(
            f"privileged references (read the pool's exam-domain labels, not learned): {', '.join(privileged)}"
        )
    atomic_write_json(
        out / "report.json",
        {"settings": rows, "privileged_references": privileged, "figures": [str(f) for f in files]},
    )
    console.print("figures: " + ", ".join(str(f) for f in files))
    if any(r["taught_to_the_test"] for r in rows):
        console.print(
            "[red]taught to the test[/]: these teachers beat the oracle on the feedback exam but not on the "
            "held-out exam; they fitted the exam, not the language (docs/exams.md)."
        )
