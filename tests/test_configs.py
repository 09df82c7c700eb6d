"""Every shipped config resolves, at every point of its sweep grid: a typo fails here, not in a 10-minute run."""

from __future__ import annotations

from pathlib import Path

import pytest

from ilm_core.config import apply_overrides, load_config_file, normalise, resolve
from ilm_sweep.runs import grid_points, parse_grid, sweep_grid

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.toml"))


def test_configs_are_found():
    assert len(CONFIGS) >= 8


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_config_resolves_at_every_grid_point(registry, path: Path):
    base = load_config_file(path)
    spec = base.pop("sweep", {})
    seeds = spec.get("seeds", [1])
    for point in grid_points(parse_grid(sweep_grid(spec))):
        for seed in seeds:
            cfg = resolve(normalise(apply_overrides(base, [*point, f"seed={seed}"])), registry)
            assert cfg.seed == seed
