"""`ilm sweep`: one command runs a grid of settings over seeds, one run directory each."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from ilm_core.cli.display import fmt
from ilm_core.cli.steps_display import RichSteps
from ilm_core.config import apply_overrides, assemble, check_sweep, normalise, resolve
from ilm_core.files import atomic_write_json
from ilm_core.registry import default_registry
from ilm_core.sweeps import RunOptions, RunSpec
from ilm_sweep.runs import (
    PAPER_SEEDS,
    SETTING_MEASURES,
    grid_points,
    parse_grid,
    parse_seeds,
    per_setting,
    run_all,
    slug,
    sweep_grid,
)


def sweep(
    config: Path = typer.Option(None, "--config", "-c", help="base config file"),
    grid: list[str] = typer.Option(None, "--grid", "-g", help="path=v1,v2,... (repeatable; the product is run)"),
    seeds: str = typer.Option(None, "--seeds", help="comma-separated seeds (default: the config's, else the paper's)"),
    set_: list[str] = typer.Option(None, "--set", "-s", help="override for every run: path=value"),
    out: Path = typer.Option(Path("runs/sweep"), "--out", "-o", help="folder of the sweep's run directories"),
    # -- parallel runs and the set-up cache (ilm_sweep/runs.py, ilm_core/cache.py) --
    jobs: int = typer.Option(1, "--jobs", "-j", help="runs at the same time, each in its own process, cores split"),
    backend: str = typer.Option(
        "local", "--backend", help="where the runs run: local (this machine) or an installed backend, e.g. ray"
    ),
    no_cache: bool = typer.Option(False, "--no-cache", help="rebuild every run's teacher LM instead of reusing it"),
) -> None:
    """Run every grid point for every seed; finished runs are reused, partial ones resumed."""
    console = Console()
    registry = default_registry()
    base = assemble(config, {}, set_ or [])
    check_sweep(base.get("sweep", {}), seeds)
    if "sweep" in base:  # a config file may carry its own grid and seeds
        spec = base.pop("sweep")
        grid = list(grid or []) + sweep_grid(spec)
        if "seeds" in spec and seeds is None:
            seeds = ",".join(map(str, spec["seeds"]))
    points = grid_points(parse_grid(grid or []))
    seed_list = parse_seeds(seeds if seeds is not None else ",".join(map(str, PAPER_SEEDS)))
    settings = [slug(point) for point in points for _ in seed_list]
    specs = [
        RunSpec(
            normalise(apply_overrides(base, [*point, f"seed={seed}"])),
            out / slug(point) / f"seed-{seed}",
            f"{slug(point)} seed {seed}",
        )
        for point in points
        for seed in seed_list
    ]
    for spec in specs:  # every config is checked before the first run starts
        resolve(spec.raw, registry)
    results = {}
    with Progress(console=console) as progress:
        task = progress.add_task(f"sweep ({jobs} at a time)" if jobs > 1 else "sweep", total=len(specs))
        options = RunOptions(
            jobs=jobs,
            cache=not no_cache,
            notify=lambda m: console.print(f"[yellow]notice:[/] {m}"),
            registry=registry,
            steps=lambda spec: RichSteps(console, progress, prefix=f"{spec.label}: "),
            started=lambda spec: progress.update(task, description=spec.label) if jobs == 1 else None,
        )
        for result in run_all(specs, options, backend):
            results[result.spec.out] = result
            progress.advance(task)
    rows = [(spec.label, results[spec.out].summary) for spec in specs]
    for label, summary in rows:
        console.print(
            f"{label}: fraction (last 10) {_three(summary.get('fraction_exam_domain_last'))}, "
            f"perplexity {fmt(summary['perplexity_last'])}, {summary['seconds']:.1f} s episodes, "
            f"{summary.get('setup_seconds', 0.0):.1f} s set-up"
        )
    aggregate = per_setting([(name, results[spec.out].summary) for name, spec in zip(settings, specs, strict=True)])
    console.print(settings_table(aggregate))
    atomic_write_json(out / "sweep-summary.json", aggregate)
    console.print(f"runs in {out}; per setting: {out}/sweep-summary.json; aggregate with: ilm report {out}")


def settings_table(rows: list[dict[str, Any]]) -> Table:
    """Mean ± std over seeds of each setting's last-10-episode figures."""
    table = Table(title="per setting: mean ± std over seeds (last 10 episodes)")
    for col in ("setting", "seeds", "fraction exam domain", "perplexity", "held-out perplexity", "reward"):
        table.add_column(col)
    for row in rows:
        cells = [row[k] for k in SETTING_MEASURES]
        table.add_row(
            row["setting"],
            str(len(row["seeds"])),
            *(f"{c['mean']:.4g} ± {c['std']:.2g}" if c["mean"] is not None else "-" for c in cells),
        )
    return table


def _three(value: float | None) -> str:
    """A figure with three decimals, or "-" for one the run did not measure."""
    return "-" if value is None else f"{value:.3f}"
