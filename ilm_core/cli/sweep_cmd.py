"""`ilm sweep`: one command runs a grid of settings over seeds, one run directory each."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import Progress

from ilm_core.batch import PAPER_SEEDS, grid_points, parse_grid, parse_seeds, run_one, slug, sweep_grid
from ilm_core.config import apply_overrides, assemble, check_sweep, normalise
from ilm_core.registry import default_registry


def sweep(
    config: Path = typer.Option(None, "--config", "-c", help="base config file"),
    grid: list[str] = typer.Option(None, "--grid", "-g", help="path=v1,v2,... (repeatable; the product is run)"),
    seeds: str = typer.Option(None, "--seeds", help="comma-separated seeds (default: the config's, else the paper's)"),
    set_: list[str] = typer.Option(None, "--set", "-s", help="override for every run: path=value"),
    out: Path = typer.Option(Path("runs/sweep"), "--out", "-o", help="folder of the sweep's run directories"),
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
    jobs = [(point, seed) for point in points for seed in seed_list]
    rows = []
    with Progress(console=console) as progress:
        task = progress.add_task("sweep", total=len(jobs))
        for point, seed in jobs:
            raw = normalise(apply_overrides(base, [*point, f"seed={seed}"]))
            path = out / slug(point) / f"seed-{seed}"
            progress.update(task, description=f"{slug(point)} seed {seed}")
            _, summary = run_one(raw, path, registry, notify=lambda m: console.print(f"[yellow]notice:[/] {m}"))
            rows.append((slug(point), seed, summary))
            progress.advance(task)
    for name, seed, summary in rows:
        console.print(
            f"{name} seed {seed}: fraction (last 10) {summary['fraction_exam_domain_last']:.3f}, "
            f"perplexity {summary['perplexity_last']:.4g}, {summary['seconds']:.1f} s"
        )
    console.print(f"runs in {out}; aggregate with: ilm report {out}")
