"""`ilm bench`: time every executor on the same students (logic in `ilm_devkit.bench`)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from ilm_core.registry import default_registry
from ilm_devkit.bench import DEFAULTS, BenchRow, run_bench


def _table(rows: list[BenchRow]) -> Table:
    table = Table(
        title=(
            "ilm bench (one episode's work: train + score N students; executors interleaved in rounds; "
            "seconds = median; vs seq = median of the per-round ratios)"
        )
    )
    for col in ("executor", "student", "students", "updates", "seconds", "updates/s", "MB/student", "memory", "vs seq"):
        table.add_column(col, justify="left" if col in ("executor", "student", "memory") else "right")
    for r in rows:
        table.add_row(
            r.description,
            r.student,
            str(r.students),
            str(r.updates),
            f"{r.seconds:.3f}",
            f"{r.updates_per_second:.1f}",
            "-" if r.memory_mb_per_student is None else f"{r.memory_mb_per_student:.2f}",
            r.memory_method,
            "-" if r.ratio_vs_sequential is None else f"{r.ratio_vs_sequential:.2f}x",
        )
    return table


def bench(
    students: int = typer.Option(12, "--students", "-n", min=1, help="students trained per run"),
    updates: int = typer.Option(20, "--updates", "-u", min=1, help="training updates per student"),
    size: str = typer.Option("cpu", "--size", help="cpu = native student defaults; paper = 6x512, 8 heads, ffn 2048"),
    device: str = typer.Option("cpu", "--device", help="cpu, cuda, cuda:1, ..."),
    executors: str = typer.Option(",".join(DEFAULTS.executors), "--executors", help="comma-separated executor names"),
    student_names: str = typer.Option(
        ",".join(DEFAULTS.students),
        "--student",
        help="comma-separated student names: the first under every executor, the others under "
        f"{DEFAULTS.baseline} only (skipped with a notice when not installed)",
    ),
    environment: str = typer.Option(DEFAULTS.environment, "--env", help="environment whose pool gives the lessons"),
    repeats: int = typer.Option(
        5, "--repeats", min=1, help="timed rounds; each round runs every executor once (after one warm-up each)"
    ),
    seed: int = typer.Option(6639, "--seed", help="seeds the lessons and the students"),
    threads: int = typer.Option(None, "--threads", min=1, help="torch threads in this process (default: torch's)"),
    json_path: Path = typer.Option(None, "--json", help="also write the rows as JSON here"),
) -> None:
    """Train the same N students with each executor and compare their speed and memory."""
    console = Console()

    def names(text: str) -> tuple[str, ...]:
        return tuple(item.strip() for item in text.split(",") if item.strip())

    setup = DEFAULTS.model_copy(
        update={
            "executors": names(executors) or DEFAULTS.executors,
            "students": names(student_names) or DEFAULTS.students,
            "environment": environment,
        }
    )

    def notify(message: str) -> None:
        console.print(f"[dim]{message}[/]", highlight=False)

    rows = run_bench(
        default_registry(),
        students=students,
        updates=updates,
        size=size,
        device=device,
        repeats=repeats,
        seed=seed,
        threads=threads,
        notify=notify,
        setup=setup,
    )
    console = Console(width=max(console.width, 160))
    console.print(_table(rows))
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps([r.model_dump() for r in rows], indent=2) + "\n", encoding="utf-8")
        console.print(f"wrote {json_path}")
