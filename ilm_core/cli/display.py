"""What a run shows in the terminal: a progress bar over episodes and a summary table.

Both are ordinary lifecycle-hook implementations, registered for the duration of a run.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from ilm_core.hookspecs import hookimpl


def fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


class ProgressDisplay:
    """Live progress over episodes: reward, exam perplexity, fraction of exam-domain sentences."""

    def __init__(self, console: Console):
        self.console = console
        self.progress: Progress | None = None

    @hookimpl
    def ilm_run_start(self, run: Any) -> None:
        cfg = run.config
        self.console.print(
            f"[bold]ilm run[/]: teacher [cyan]{cfg.teacher.name}[/], environment [cyan]{cfg.environment.name}[/], "
            f"{cfg.n_students} students per teacher, budget {cfg.budget}, seed {cfg.seed}\n"
            f"executor: {run.executor}\nrun directory: {run.run_dir.path}"
        )
        self.progress = Progress(
            TextColumn("episode"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[stats]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self.console,
        )
        self.progress.start()
        self.task = self.progress.add_task("episodes", total=cfg.episodes, completed=run.first_episode, stats="")

    @hookimpl
    def ilm_episode_end(self, run: Any, record: Any) -> None:
        if self.progress is None:
            return
        if record.episode == run.first_episode:
            warning = long_run_warning(record.seconds, run.config.episodes - record.episode - 1)
            if warning:
                self.progress.console.print(f"[yellow]notice:[/] {warning}", highlight=False, soft_wrap=True)
        if record.perplexity_mean is not None:
            stats = f"exam ppl {record.perplexity_mean:.3g} ± {record.perplexity_std or 0.0:.2g}"
        elif record.accuracy_mean is not None:  # an exam without perplexity: its accuracy
            stats = f"exam accuracy {record.accuracy_mean:.3g} ± {record.accuracy_std or 0.0:.2g}"
        else:
            stats = f"teacher's reward {record.teacher_reward_mean or 0.0:.3g}"
        reward = record.teacher.get("reward_mean")  # the teacher's own reward, when it reports one
        if isinstance(reward, float):
            stats += f"  teacher's reward {reward:.3g}"
        fraction = record.value("fraction_exam_domain")  # when the run measures it (the default)
        if isinstance(fraction, float):
            stats += f"  exam-domain ({run.environment.exam_domain}) fraction {fraction:.2f}"
        self.progress.update(self.task, advance=1, stats=stats)

    @hookimpl
    def ilm_run_end(self, run: Any, summary: dict[str, Any]) -> None:
        self.stop()
        self.console.print(summary_table(summary, run.environment.exam_domain))

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


#: a run expected to take longer than this after its first episode is announced, with how to shorten it
LONG_RUN_SECONDS = 120.0


def peak_memory_gb() -> float | None:
    """The most memory this process has used so far (None where the platform does not say)."""
    try:
        import resource
        import sys

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    except (ImportError, OSError):
        return None
    return peak / 1e9 if sys.platform == "darwin" else peak / 1e6  # bytes on macOS, KiB elsewhere


def long_run_warning(episode_seconds: float, remaining: int) -> str | None:
    """What the rest of the run will cost, when it is long: time and memory, and how to cut them."""
    left = episode_seconds * remaining
    if left < LONG_RUN_SECONDS:
        return None
    memory = peak_memory_gb()
    uses = f"; it uses {memory:.1f} GB of memory so far" if memory is not None else ""
    return (
        f"the first episode took {episode_seconds:.0f} s, so the {remaining} left take about {left / 60:.0f} min"
        f"{uses}. Fewer --episodes or --students make it shorter; Ctrl-C stops it and --resume RUN_DIR continues."
    )


def exam_domain_label(domain: str | None) -> str:
    """The one name of the fraction of taught sentences from the exam's domain, wherever it is shown."""
    return f"fraction of exam-domain sentences sent ({domain})" if domain else "fraction of exam-domain sentences sent"


def measure_rows(summary: dict[str, Any], shown: set[str]) -> list[tuple[str, Any]]:
    """One row per value a measure plugin recorded (summary.json's `K_last`, beside its `K_first`)."""
    keys = [k[: -len("_first")] for k in summary if k.endswith("_first") and f"{k[: -len('_first')]}_last" in summary]
    return [(f"{key} (a measure)", summary[f"{key}_last"]) for key in keys if key not in shown]


#: summary.json's figures of exams without perplexity (or with more scores), shown when a run has them
SCORE_ROWS = (
    ("accuracy_last", "feedback-exam accuracy"),
    ("teacher_reward_last", "teacher's reward (exam's headline)"),
)


def summary_table(summary: dict[str, Any], domain: str | None) -> Table:
    table = Table(title=f"summary (last {summary['last_episodes']} episodes)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    rows = [
        ("episodes", summary["episodes"]),
        (exam_domain_label(domain or summary.get("exam_domain")), summary.get("fraction_exam_domain_last")),
        ("feedback-exam perplexity", summary["perplexity_last"]),
        ("held-out exam perplexity", summary["heldout_perplexity_last"]),
        *[(label, summary[key]) for key, label in SCORE_ROWS if key in summary],
        *measure_rows(summary, shown={"fraction_exam_domain"}),
        ("seconds (episodes only)", summary["seconds"]),
        ("seconds (set-up: environment, teacher, executor)", summary.get("setup_seconds")),
    ]
    for name, value in rows:
        table.add_row(name, fmt(value))
    return table
