"""`ilm report RUN_DIR...`: Figure 2 panels, Appendix C overlaps and the exam comparison."""

from __future__ import annotations

import math
import os
from pathlib import Path

import typer
from rich.table import Table

from ilm_core.cli.outputs import table_console, writable_folder
from ilm_core.files import atomic_write_json
from ilm_core.summary import LAST
from ilm_report import figures as plots
from ilm_report.runs import (
    Run,
    find_runs,
    group_settings,
    measure_keys,
    oracle_baselines,
    privileged_teachers,
    summary_rows,
)


def _pm(pair: tuple[float, float], digits: int = 3) -> str:
    mean, std = pair
    if math.isnan(mean):
        return "-"
    return f"{mean:.{digits}g} ± {std:.2g}"


def _one(pair: tuple[float, float], digits: int = 3) -> str:
    """A single run's figure: no spread to show."""
    return "-" if math.isnan(pair[0]) else f"{pair[0]:.{digits}g}"


def default_out(runs: list[Run]) -> Path:
    """report/ inside the run directory, or inside the runs' common folder (a sweep's)."""
    paths = [str(r.path.resolve()) for r in runs]
    common = Path(os.path.commonpath(paths)) if len(paths) > 1 else Path(paths[0])
    return common / "report"


def oracle_hint(run: Run, count: int) -> str:
    """How to get the oracle reference a run lacks (its held-out perplexity is the one to beat)."""
    others = f" (and {count - 1} other run(s))" if count > 1 else ""
    reference = f"{run.path}-oracle"
    return (
        f"oracle reference: none for {run.path}{others}. The oracle teacher's held-out perplexity, on the same "
        f"environment, exam, student and seed, is the score to beat. Make it with `ilm run --config "
        f"{run.path / 'config.json'} --teacher oracle --episodes 5 --quiet --out {reference}`, then "
        f"`ilm report {run.path} {reference}`."
    )


def report(
    runs: list[Path] = typer.Argument(..., help="run directories, or folders holding them (a sweep, baselines)"),
    out: Path = typer.Option(
        None, "--out", "-o", help="folder for the PNG figures and report.json (default: report/ in the runs' folder)"
    ),
) -> None:
    """Aggregate runs (mean ± std over seeds, one line per setting) into figures and a table."""
    console = table_console()
    all_runs = find_runs(runs)
    out = writable_folder(out if out is not None else default_out(all_runs))  # before the work
    oracles = oracle_baselines(all_runs)
    settings = group_settings(all_runs)
    learners = [s for s in settings if not any(run.is_reference() for run in s.runs)] or settings
    domain = "the exam domain"
    keys = measure_keys([run for s in learners for run in s.runs])
    drawn = [
        plots.figure2(learners, out / "figure2.png", domain),
        plots.overlaps(learners, out / "overlaps.png"),  # runs that measured the overlaps only
        plots.exams(learners, oracles, out / "exams.png"),
        plots.components(learners, out / "components.png"),  # exams with components or pairs only
        plots.teacher(learners, out / "teacher.png"),  # the teacher's reward and policy entropy
        plots.measures(learners, keys, out / "measures.png"),  # what measure plugins recorded, if any
    ]
    files = [path for path in drawn if path is not None]
    rows = summary_rows(settings, oracles)
    several = any(len(s.runs) > 1 for s in settings)
    shortest = min(len(run.records) for run in all_runs)
    last = f"last {LAST} episodes" if shortest > LAST else f"all {shortest} episodes" if shortest > 1 else "1 episode"
    if len({len(run.records) for run in all_runs}) > 1 and shortest <= LAST:
        last = f"last {LAST} episodes (all of a shorter run's)"
    table = Table(title=last + (", mean ± std over seeds" if several else ", one run per setting"))
    table.add_column("setting", min_width=24, overflow="fold")
    accuracy = any("accuracy" in row for row in rows)  # a column only where an exam has accuracy
    for col in (
        "runs",
        "fraction from exam domain",
        "feedback ppl",
        "held-out ppl",
        "oracle held-out",
        *(["feedback accuracy"] if accuracy else []),
        "taught to the test",
        *keys,
    ):
        table.add_column(col)
    shown = _pm if several else _one
    for row in rows:
        flagged = row["taught_to_the_test"]
        table.add_row(
            row["setting"],
            str(row["runs"]),
            *(shown(row[k]) for k in ("fraction", "feedback", "heldout", "oracle_heldout")),
            *([shown(row.get("accuracy", (math.nan, math.nan)))] if accuracy else []),
            f"[red]YES: seeds {', '.join(map(str, flagged))}[/]" if flagged else "no",
            *(shown(row["measures"].get(key, (math.nan, math.nan))) for key in keys),
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
    without = [r for r in all_runs if not r.is_reference() and (r.env_key(), r.seed) not in oracles]
    if without:
        console.print(oracle_hint(without[0], len(without)), soft_wrap=True, highlight=False)
    if any(r["taught_to_the_test"] for r in rows):
        console.print(
            "[red]taught to the test[/]: these teachers beat the oracle on the feedback exam but not on the "
            "held-out exam; they fitted the exam, not the language (docs/exams.md)."
        )
