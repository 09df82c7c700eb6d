"""Running many independent runs (baselines, sweeps): each its own run directory, resumable."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ilm_core.config import ExperimentConfig, config_identity, parse_value, resolve
from ilm_core.errors import ConfigError
from ilm_core.loop import Experiment
from ilm_core.registry import Registry
from ilm_core.rundir import RunDir

PAPER_SEEDS = (6639, 7519, 1007, 4520, 4527)


def parse_seeds(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise ConfigError(f"--seeds {text!r} must be comma-separated integers, e.g. 6639,7519") from None
    if not seeds:
        raise ConfigError("--seeds needs at least one seed")
    return seeds


def parse_grid(items: list[str]) -> list[tuple[str, list[Any]]]:
    """`--grid students=1,2,4` -> [("students", [1, 2, 4])]."""
    grid = []
    for item in items:
        key, sep, values = item.partition("=")
        if not sep or not key.strip() or not values.strip():
            raise ConfigError(f"--grid {item!r} is not of the form path.to.param=v1,v2,... (e.g. students=1,2,4)")
        grid.append((key.strip(), [parse_value(v.strip()) for v in values.split(",")]))
    return grid


def sweep_grid(spec: dict[str, Any]) -> list[str]:
    """A config file's `[sweep] grid = {path = [v1, v2]}` as `--grid` items ("path=v1,v2")."""
    return [f"{k}={','.join(map(str, v))}" for k, v in spec.get("grid", {}).items()]


def grid_points(grid: list[tuple[str, list[Any]]]) -> list[list[str]]:
    """Every combination as a list of `--set` overrides."""
    if not grid:
        return [[]]
    keys = [k for k, _ in grid]
    return [
        [f"{k}={json.dumps(v) if not isinstance(v, str) else v}" for k, v in zip(keys, combo, strict=True)]
        for combo in itertools.product(*(values for _, values in grid))
    ]


def slug(overrides: list[str]) -> str:
    text = "_".join(o.replace("=", "-").replace(".", "-") for o in overrides) or "default"
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in text)


def run_one(
    raw: dict[str, Any], out: Path, registry: Registry, notify: Callable[[str], None] = lambda m: None
) -> tuple[ExperimentConfig, dict[str, Any]]:
    """Run (or finish, or reuse) one run directory for `raw`; returns its config and summary."""
    cfg = resolve(raw, registry)
    rd = RunDir(out)
    if rd.is_run():
        same = config_identity(rd.read_config()) == config_identity(cfg.model_dump(mode="json"))
        if (out / "summary.json").exists() and same:
            return cfg, json.loads((out / "summary.json").read_text())
        summary = Experiment(cfg, registry, rd, notify=notify).run(resume=True)
        return cfg, summary
    return cfg, Experiment(cfg, registry, rd, notify=notify).run()
