"""`ilm run`: train a teacher over episodes and write a run directory."""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.text import Text

from ilm_core.build import build_environment
from ilm_core.config import ExperimentConfig, assemble, check_device, resolve
from ilm_core.errors import ConfigError
from ilm_core.files import json_text
from ilm_core.loop import Experiment
from ilm_core.registry import default_registry
from ilm_core.rundir import RunDir
from ilm_core.signals import interruptible


def default_out(env: str, teacher: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = Path("runs") / f"{stamp}-{env}-{teacher}"
    n = 1
    while path.exists():
        n += 1
        path = Path("runs") / f"{stamp}-{env}-{teacher}-{n}"
    return path


def absent_device(device: str) -> str | None:
    """Why this machine cannot run on `device` (None: it can); a name that is no device at all is
    refused, as for a run: a dry run may describe another machine, not a typo."""
    import torch

    try:
        check_device(device)
    except ConfigError as exc:
        try:
            torch.device(device)
        except (RuntimeError, ValueError, TypeError):
            raise exc from None
        return str(exc)
    return None


def dry_run_notes(cfg: ExperimentConfig, bench: Path | None, absent: str | None) -> None:
    """On stderr (stdout stays the config's JSON): whether this machine has the device, and what
    plugins say of the config (`ilm_dry_run`; `ilm_devkit`'s estimate of its cost)."""
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    if absent is not None:
        err.print(f"note: a run needs another machine: {absent}", markup=False)
    answers = default_registry().pm.hook.ilm_dry_run(config=cfg.model_dump(mode="json"), bench=bench)
    for lines in reversed(answers):  # in the order the plugins were registered
        for line in lines:
            err.print(line, markup=False)


def run(
    teacher: str = typer.Option(None, "--teacher", "-t", help="teacher plugin (default select-bin)"),
    env: str = typer.Option(None, "--env", "-e", help="environment plugin (default domains)"),
    student: str = typer.Option(None, "--student", help="student plugin (default transformer-lm)"),
    interaction: str = typer.Option(None, "--interaction", help="interaction plugin (default all-at-once)"),
    exam: str = typer.Option(None, "--exam", help="exam plugin (default perplexity)"),
    executor: str = typer.Option(None, "--executor", help="executor plugin (default auto)"),
    episodes: int = typer.Option(None, "--episodes", help="teacher training episodes"),
    students: int = typer.Option(None, "--students", help="students per teacher (the config's n_students)"),
    budget: int = typer.Option(None, "--budget", help="sentences per lesson"),
    seed: int = typer.Option(None, "--seed", help="run seed"),
    device: str = typer.Option(None, "--device", help="cpu, cuda, cuda:1, ..."),
    tracker: str = typer.Option(
        None, "--tracker", help="outside tools that follow the run, e.g. tensorboard,mlflow (`ilm plugins`)"
    ),
    config: Path = typer.Option(None, "--config", "-c", help="config file (TOML, JSON or YAML)"),
    set_: list[str] = typer.Option(None, "--set", "-s", help="override: path.to.param=value (repeatable)"),
    out: Path = typer.Option(None, "--out", "-o", help="run directory (default runs/<time>-<env>-<teacher>)"),
    resume: Path = typer.Option(None, "--resume", help="continue the run in this directory from its last checkpoint"),
    dry_run: bool = typer.Option(
        False,
        "--dry-run",
        help="print the validated, resolved config (stdout) and its estimated time and memory (stderr), and exit",
    ),
    bench: Path = typer.Option(
        None, "--bench", help="with --dry-run: also estimate from this `ilm bench --json` file (e.g. measured on a GPU)"
    ),
    quiet: bool = typer.Option(
        False,
        "--quiet",
        "-q",
        help="no progress bar, set-up lines or tables: print only the summary as JSON (for scripts)",
    ),
    # -- set-up and threads (ilm_threads, ilm_core/cache.py) --
    threads: str = typer.Option(None, "--threads", help="thread plan: auto (default), torch, or a number of threads"),
    no_cache: bool = typer.Option(False, "--no-cache", help="rebuild the teacher's LM instead of reusing it"),
) -> None:
    """Train a teacher: each episode it teaches N students, they take an exam, it learns."""
    console = Console()
    registry = default_registry()
    flags = {
        "teacher": teacher,
        "environment": env,
        "student": student,
        "interaction": interaction,
        "exam": exam,
        "executor": executor,
        "episodes": episodes,
        "n_students": students,
        "budget": budget,
        "seed": seed,
        "device": device,
        "trackers": tracker,
    }
    if resume is not None and out is not None and out.resolve() != resume.resolve():
        raise ConfigError(
            f"--resume {resume} continues the run in that directory; --out {out} names another one. "
            "Give only --resume to continue a run, or only --out to start a new one."
        )
    # resuming: the saved config is the base, so giving the same flags again changes nothing
    base = RunDir(resume).check_config_unchanged() if resume is not None else None
    cfg = resolve(assemble(config, flags, set_ or [], base=base), registry)
    if dry_run:
        absent = absent_device(cfg.device)
        build_environment(cfg, registry)  # the budget must fit the pool the environment builds
        console.print_json(json.dumps(cfg.model_dump(mode="json")))
        dry_run_notes(cfg, bench, absent)
        return
    check_device(cfg.device)  # before any work: a missing GPU is a config error, not a failed set-up
    run_dir = RunDir(resume if resume is not None else (out or default_out(cfg.environment.name, cfg.teacher.name)))
    observers = []
    display = None
    if not quiet:
        from ilm_core.cli.display import ProgressDisplay

        display = ProgressDisplay(console)
        observers.append(display)

    def notify(message: str) -> None:
        # one line per notice, however long its paths: easy to grep in a log
        console.print(Text("notice: ", style="yellow") + Text(message), highlight=False, soft_wrap=True)

    # -- set-up and threads: the plan printed, set-up steps shown, the set-up cache --
    from ilm_core import process
    from ilm_core.cache import SetupCache
    from ilm_core.cli.steps_display import RichSteps

    if threads is not None:
        process.setup(threads)
    steps = RichSteps(console) if not quiet else None
    line = process.describe() if not quiet else None
    if line:
        console.print(line, highlight=False)
    cache = SetupCache.from_env(enabled=not no_cache, notify=notify)
    experiment = Experiment(cfg, registry, run_dir, notify=notify, steps=steps, cache=cache)
    try:
        with interruptible():  # Ctrl-C or SIGTERM: stop between writes, say how to continue
            summary = experiment.run(resume=resume is not None, observers=observers)
    finally:
        if steps is not None:
            steps.close()
        if display is not None:
            display.stop()
    if experiment.complete and not quiet:
        from ilm_core.cli.display import summary_table

        console.print(summary_table(summary, summary.get("exam_domain")))
    if quiet:
        console.print_json(json_text(summary))  # valid JSON for scripts: NaN written as null
        return
    console.print(f"results: {run_dir.path}/metrics.jsonl, summary.json, checkpoints/")
