"""The contracts of running many runs (`ilm sweep`, `ilm baselines`, a `SweepBackend` plugin):
a run to make (`RunSpec`), how (`RunOptions`), what it gave (`RunResult`), and one run in a
worker process (`run_in_worker`). The runner of many runs and `ilm sweep` are the `ilm_sweep`
package's."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ilm_core.cache import SetupCache
from ilm_core.config import ExperimentConfig, config_identity, resolve
from ilm_core.errors import IlmError
from ilm_core.loop import Experiment
from ilm_core.progress import Steps
from ilm_core.registry import Registry, default_registry
from ilm_core.rundir import RunDir


def run_one(
    raw: dict[str, Any],
    out: Path,
    registry: Registry,
    notify: Callable[[str], None] = lambda m: None,
    steps: Steps | None = None,
    cache: SetupCache | None = None,
) -> tuple[ExperimentConfig, dict[str, Any]]:
    """Run (or finish, or reuse) one run directory for `raw`; returns its config and summary."""
    cfg = resolve(raw, registry)
    rd = RunDir(out)
    experiment = Experiment(cfg, registry, rd, notify=notify, steps=steps, cache=cache)
    if rd.is_run():
        same = config_identity(rd.read_config()) == config_identity(cfg.model_dump(mode="json"))
        if (out / "summary.json").exists() and same:
            return cfg, json.loads((out / "summary.json").read_text())
        return cfg, experiment.run(resume=True)
    return cfg, experiment.run()


@dataclass(frozen=True)
class RunSpec:
    """One run of a sweep or of the baselines: its config (raw, unresolved) and its run directory."""

    raw: dict[str, Any]
    out: Path
    label: str


@dataclass
class RunResult:
    """A finished (or reused) run: its summary and the notices it gave."""

    spec: RunSpec
    summary: dict[str, Any]
    notices: list[str] = field(default_factory=list)


@dataclass
class RunOptions:
    """How a backend runs the specs. `registry` and `steps` serve in-process runs only."""

    jobs: int = 1
    cache: bool = True
    notify: Callable[[str], None] = lambda message: None
    registry: Registry | None = None
    #: set-up steps display for one run (in-process runs); None = silent
    steps: Callable[[RunSpec], Steps] | None = None
    #: called when a run starts (in worker processes: when it is handed to the pool)
    started: Callable[[RunSpec], None] = lambda spec: None


_worker_registry: Registry | None = None


def run_in_worker(spec: RunSpec, cache: bool) -> tuple[RunResult | None, str | None]:
    """One run in a worker process: (result, None), or (None, a one-paragraph error naming the run)."""
    global _worker_registry
    notices: list[str] = []
    try:
        if _worker_registry is None:
            _worker_registry = default_registry()
        store = SetupCache.from_env(enabled=cache, notify=notices.append)
        _, summary = run_one(spec.raw, spec.out, _worker_registry, notices.append, cache=store)
        return RunResult(spec, summary, notices), None
    except IlmError as exc:
        return None, f"run {spec.label} ({spec.out}) failed: {exc}"
    except KeyboardInterrupt:
        return None, f"run {spec.label} ({spec.out}) was interrupted; run the same command again to resume it"
    except Exception as exc:  # a bug: say where, and keep the other runs' results
        return None, f"run {spec.label} ({spec.out}) failed with {type(exc).__name__}: {exc}"
