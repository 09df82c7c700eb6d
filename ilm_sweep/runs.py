"""Running many independent runs (`ilm sweep`, `ilm baselines`): each its own run directory,
resumable. The grid and seeds of a sweep, the `local` backend (this process, or `jobs` worker
processes) or a `SweepBackend` plugin, and the per-setting summary; the contracts (`RunSpec`,
`RunOptions`, `RunResult`, `run_in_worker`) are the core's (`ilm_core.sweeps`)."""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ilm_core import process
from ilm_core.cache import SetupCache
from ilm_core.config import parse_value
from ilm_core.errors import ConfigError, IlmError
from ilm_core.registry import default_registry
from ilm_core.sweeps import RunOptions, RunResult, RunSpec, run_in_worker, run_one

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
    """`--grid n_students=1,2,4` -> [("n_students", [1, 2, 4])]."""
    grid = []
    for item in items:
        key, sep, values = item.partition("=")
        if not sep or not key.strip() or not values.strip():
            raise ConfigError(f"--grid {item!r} is not of the form path.to.param=v1,v2,... (e.g. n_students=1,2,4)")
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


#: the summary figures `per_setting` aggregates over seeds
SETTING_MEASURES = ("fraction_exam_domain_last", "perplexity_last", "heldout_perplexity_last", "reward_last")


def per_setting(rows: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Mean and std over seeds of each setting's summary figures, settings in first-seen order."""
    import statistics

    grouped: dict[str, list[dict[str, Any]]] = {}
    for name, summary in rows:
        grouped.setdefault(name, []).append(summary)
    out = []
    for name, summaries in grouped.items():
        row: dict[str, Any] = {"setting": name, "seeds": [s["seed"] for s in summaries]}
        for key in SETTING_MEASURES:
            values = [s[key] for s in summaries if s.get(key) is not None]
            row[key] = {
                "mean": statistics.fmean(values) if values else None,
                "std": statistics.pstdev(values) if values else None,
            }
        out.append(row)
    return out


# -- running many runs: backends ---------------------------------------------------------------


#: a backend runs every spec and yields each result as it finishes, in any order; an error in a
#: run is raised as an IlmError naming the run (a backend may finish the runs already started)
Backend = Callable[[Sequence[RunSpec], RunOptions], Iterator[RunResult]]


def local_backend(specs: Sequence[RunSpec], options: RunOptions) -> Iterator[RunResult]:
    """`jobs` = 1: one run after another in this process; more: that many worker processes at once."""
    if options.jobs <= 1 or len(specs) <= 1:
        registry = options.registry or default_registry()
        for spec in specs:
            options.started(spec)
            steps = options.steps(spec) if options.steps is not None else None
            cache = SetupCache.from_env(enabled=options.cache, notify=options.notify)
            _, summary = run_one(spec.raw, spec.out, registry, options.notify, steps=steps, cache=cache)
            yield RunResult(spec, summary)
        return
    yield from _in_processes(specs, options)


#: backends by name (`ilm sweep --backend`); another module may add its own
BACKENDS: dict[str, Backend] = {"local": local_backend}


def run_all(specs: Sequence[RunSpec], options: RunOptions, backend: str = "local") -> Iterator[RunResult]:
    """Run `specs` with the named backend; yields results as they finish."""
    runner = BACKENDS.get(backend)
    if runner is None:  # a sweep backend plugin (`ilm_backends`)
        registry = options.registry or default_registry()
        installed = registry.specs("backend")
        if backend not in installed:
            choices = ", ".join([*BACKENDS, *installed])
            raise ConfigError(f"--backend {backend!r} is not a known backend; choose one of: {choices}")
        runner = registry.build("backend", backend, {}).run
    if options.jobs < 1:
        raise ConfigError(f"--jobs {options.jobs} must be at least 1 (the number of runs at the same time)")
    yield from runner(specs, options)


def _in_processes(specs: Sequence[RunSpec], options: RunOptions) -> Iterator[RunResult]:
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    env = process.worker_environment(options.jobs)
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: the thread plan is set before torch
    pool = ProcessPoolExecutor(options.jobs, mp_context=context, initializer=_worker_init, initargs=(env,))
    failure: str | None = None
    try:
        pending = set()
        for spec in specs:
            pending.add(pool.submit(run_in_worker, spec, options.cache))
            options.started(spec)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                result, error = future.result()
                if error is not None:
                    failure = failure or error
                    for other in pending:
                        other.cancel()
                    continue
                assert result is not None  # run_in_worker returns a result or an error
                for message in result.notices:
                    options.notify(f"{result.spec.label}: {message}")
                yield result
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    if failure is not None:
        raise IlmError(failure)


def _worker_init(env: dict[str, str]) -> None:
    os.environ.update(env)
    process.setup()
