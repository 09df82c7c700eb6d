"""`ilm baselines`: the paper's oracle, random and worst-case baselines (Tables 3 and 4).

It runs the installed reference teachers, found by the role their records declare (one per
rank: best, chance, worst), never by name; the reference plugins supply the paper's three.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from ilm_core.cli.outputs import table_console
from ilm_core.cli.steps_display import RichSteps
from ilm_core.config import apply_overrides, assemble
from ilm_core.errors import ConfigError
from ilm_core.files import atomic_write_bytes, atomic_write_json
from ilm_core.records import REFERENCE_RANKS
from ilm_core.registry import Registry, default_registry
from ilm_core.sweeps import RunOptions, RunSpec
from ilm_report.runs import declared_role, load_run, mean_std
from ilm_sweep.runs import PAPER_SEEDS, parse_seeds, run_all

#: the order of the paper's baseline tables: random (chance), oracle (best), worst case
TABLE_ORDER = ("chance", "best", "worst")
COLUMNS = (
    "perplexity",
    "heldout_perplexity",
    "fraction_exam_domain",
    "overlap_unigram",
    "overlap_bigram",
    "overlap_trigram",
)


def _stats(values: list[float]) -> dict[str, float]:
    mean, std = mean_std(values)
    return {"mean": mean, "std": std}


def baseline_row(path: Path) -> dict[str, Any]:
    """Per-student figures of a one-episode baseline run, as mean and std over its students."""
    run = load_run(path)
    record = run.records[0]
    per = record["per_student"]
    students = per.get("final_loss") or per.get("perplexity") or []  # one per student, whatever the exam
    row: dict[str, Any] = {"baseline": run.teacher, "seed": run.seed, "runs": len(students)}
    row["rank"], row["privileged"] = run.role["reference_rank"], run.role["privileged"]
    for col in COLUMNS:
        values = per.get(col)
        if values is None and col.startswith("overlap_") and "overlap" in record:
            values = [record["overlap"][col.removeprefix("overlap_")]]
        row[col] = _stats(values or [])
    return row


def ordered_seeds(rows: list[dict[str, Any]], column: str) -> dict[str, list[int]]:
    """Seeds on which the paper's ordering, oracle < random < worst case, holds for a column."""
    means = {
        (r.get("rank") or declared_role(r["baseline"])["reference_rank"], r["seed"]): r[column]["mean"] for r in rows
    }
    seeds = sorted({seed for _, seed in means})
    result: dict[str, list[int]] = {"holds": [], "fails": []}
    for seed in seeds:
        oracle, random, worst = (means.get((rank, seed), math.nan) for rank in REFERENCE_RANKS)
        result["holds" if oracle < random < worst else "fails"].append(seed)
    return result


#: the columns whose ordering `ilm baselines` reports, with their labels
ORDER_COLUMNS = {"perplexity": "exam", "heldout_perplexity": "held-out exam"}


def ordering(rows: list[dict[str, Any]]) -> dict[str, dict[str, list[int]]]:
    return {column: ordered_seeds(rows, column) for column in ORDER_COLUMNS}


def ordering_line(checks: dict[str, dict[str, list[int]]]) -> str:
    parts = []
    for column, check in checks.items():
        total = len(check["holds"]) + len(check["fails"])
        fails = f" (fails on {', '.join(map(str, check['fails']))})" if check["fails"] else ""
        parts.append(f"{ORDER_COLUMNS[column]} {len(check['holds'])}/{total} seeds{fails}")
    return "oracle < random < worst case: " + "; ".join(parts)


def reference_teachers(registry: Registry) -> list[str]:
    """The installed reference teachers, one per rank, in the order of the paper's tables."""
    by_rank: dict[str, list[str]] = {}
    for spec in registry.specs("teacher").values():
        if spec.role == "reference" and spec.rank is not None:  # type: ignore[attr-defined]
            by_rank.setdefault(spec.rank, []).append(spec.name)  # type: ignore[attr-defined]
    for rank in TABLE_ORDER:
        found = by_rank.get(rank, [])
        if len(found) != 1:
            have = f"{len(found)} ({', '.join(found)})" if found else "none"
            raise ConfigError(
                f"`ilm baselines` needs exactly one installed reference teacher of rank {rank!r} "
                f"(TeacherSpec(role='reference', rank={rank!r})), found {have}. Uninstall the extra plugin, "
                "or run with ILM_NO_PLUGINS=1 to use only the built-in ones."
            )
    return [by_rank[rank][0] for rank in TABLE_ORDER]


def fmt(stat: dict[str, float]) -> str:
    mean, std = stat["mean"], stat["std"]
    if math.isnan(mean):
        return "-"
    if abs(mean) >= 1e4:
        return f"{mean:.2e}±{std:.2e}"
    return f"{mean:.4g}±{std:.3g}"


def to_markdown(rows: list[dict[str, Any]], env: str) -> str:
    head = (
        "Baseline",
        "Seed",
        "Avg perplexity",
        "Avg held-out perplexity",
        "Avg train from test",
        "Avg unigram overlap",
        "Avg bigram overlap",
        "Avg trigram overlap",
    )
    lines = [f"# Baselines: {env}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        lines.append("| " + " | ".join([r["baseline"], str(r["seed"]), *(fmt(r[c]) for c in COLUMNS)]) + " |")
    return "\n".join(lines) + "\n"


def to_csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["baseline", "seed", "runs", *(f"{c}_{s}" for c in COLUMNS for s in ("mean", "std"))])
    for r in rows:
        writer.writerow([r["baseline"], r["seed"], r["runs"], *(r[c][s] for c in COLUMNS for s in ("mean", "std"))])
    return buf.getvalue()


def baselines_table(rows: list[dict[str, Any]], env: str, runs: int) -> Table:
    """The baselines as a table whose numbers are never cut: headers fold, cells do not."""
    table = Table(title=f"baselines on {env}: mean ± std over {runs} runs per seed")
    headers = ("baseline", "seed", "avg ppl", "held-out ppl", "train from test", "1-gram", "2-gram", "3-gram")
    widest = max((len(str(r["baseline"])) for r in rows), default=8)
    for col in headers:
        if col == "baseline":
            table.add_column(col, min_width=min(widest, 16), overflow="fold")
        else:
            table.add_column(col, justify="right")
    for r in rows:
        table.add_row(r["baseline"], str(r["seed"]), *(_cell(r[c]) for c in COLUMNS))
    return table


def _cell(stat: dict[str, float]) -> str:
    """mean over std on two lines: a narrow column, so all eight fit in 80 characters."""
    mean, std = stat["mean"], stat["std"]
    if math.isnan(mean):
        return "-"
    if abs(mean) >= 1e4:
        return f"{mean:.2e}\n±{std:.1e}"
    return f"{mean:.4g}\n±{std:.2g}"


def baselines(
    env: str = typer.Option("domains", "--env", "-e", help="environment plugin"),
    config: Path = typer.Option(None, "--config", "-c", help="base config file (student recipe, sizes)"),
    seeds: str = typer.Option(",".join(map(str, PAPER_SEEDS)), "--seeds", help="comma-separated seeds"),
    runs: int = typer.Option(5, "--runs", help="students (runs) per seed and baseline"),
    set_: list[str] = typer.Option(None, "--set", "-s", help="override: path=value"),
    out: Path = typer.Option(None, "--out", "-o", help="folder (default runs/baselines-<env>)"),
    # -- parallel runs (ilm_core/sweeps.py) --
    jobs: int = typer.Option(1, "--jobs", "-j", help="runs at the same time, each in its own process, cores split"),
) -> None:
    """Oracle, random and worst case for each seed x runs, laid out as the paper's Tables 3 and 4."""
    console = Console()
    registry = default_registry()
    base = assemble(config, {"environment": env}, set_ or [])
    out = out or Path("runs") / f"baselines-{env}"
    specs = [
        RunSpec(
            apply_overrides({**base, "teacher": {"name": t}}, [f"seed={s}", "episodes=1", f"n_students={runs}"]),
            out / f"{t}-seed-{s}",
            f"{t} seed {s}",
        )
        for t in reference_teachers(registry)
        for s in parse_seeds(seeds)
    ]
    with Progress(console=console) as progress:
        task = progress.add_task(f"baselines ({jobs} at a time)" if jobs > 1 else "baselines", total=len(specs))
        options = RunOptions(
            jobs=jobs,
            notify=lambda m: console.print(f"[yellow]notice:[/] {m}"),
            registry=registry,
            steps=lambda spec: RichSteps(console, progress, prefix=f"{spec.label}: "),
            started=lambda spec: progress.update(task, description=spec.label) if jobs == 1 else None,
        )
        for _ in run_all(specs, options):
            progress.advance(task)
    rows = [baseline_row(spec.out) for spec in specs]
    table = baselines_table(rows, env, runs)
    table_console().print(table)  # every column whole at 80 columns, and when piped
    checks = ordering(rows)
    console.print(ordering_line(checks))
    privileged = sorted({r["baseline"] for r in rows if r["privileged"]})
    if privileged:
        console.print(f"privileged references (read the pool's exam-domain labels): {', '.join(privileged)}")
    atomic_write_json(
        out / "baselines.json", {"environment": env, "runs_per_seed": runs, "rows": rows, "ordering": checks}
    )
    atomic_write_bytes(out / "baselines.md", to_markdown(rows, env).encode())
    atomic_write_bytes(out / "baselines.csv", to_csv(rows).encode())
    console.print(f"written: {out}/baselines.md, baselines.csv, baselines.json")
