"""Set-up steps in the terminal: a live line per step (bar when it has a count), then its time."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from ilm_core.progress import Steps


class CountColumn(MofNCompleteColumn):
    """ "3/10" for a step with a known count; nothing (not "0/?") for one without."""

    def render(self, task):  # type: ignore[no-untyped-def]
        return Text("") if task.total is None else super().render(task)


def step_columns() -> tuple[ProgressColumn, ...]:
    return (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        CountColumn(),
        TimeElapsedColumn(),
    )


class RichSteps(Steps):
    """Shows each set-up step as a transient progress line.

    On its own (`ilm run`, `ilm inspect`) it prints every finished step with its seconds; inside
    another command's progress display (`ilm sweep`, `ilm baselines`), pass that display as
    `progress` and the steps appear as extra lines of it, removed when done, under `prefix`.
    """

    def __init__(self, console: Console, progress: Progress | None = None, prefix: str = ""):
        super().__init__()
        self.console = console
        self.shared = progress
        self.prefix = prefix
        self._own: Progress | None = None
        self._depth = 0

    def _progress(self) -> Progress:
        if self.shared is not None:
            return self.shared
        if self._own is None:  # not started where no terminal shows it: a log gets the finished lines only
            self._own = Progress(
                *step_columns(), console=self.console, transient=True, disable=not self.console.is_terminal
            )
            self._own.start()
        return self._own

    def _on_start(self, label: str, total: int | None) -> object:
        self._depth += 1
        return self._progress().add_task(f"{self.prefix}{label}", total=total)

    def _on_advance(self, handle: object, n: int) -> None:
        self._progress().advance(handle, n)  # type: ignore[arg-type]

    def _on_end(self, handle: object, label: str, seconds: float) -> None:
        progress = self._progress()
        progress.remove_task(handle)  # type: ignore[arg-type]
        self._depth -= 1
        if self.shared is None:
            if self._depth == 0 and self._own is not None:
                self._own.stop()
                self._own = None
            indent = "  " * (self._depth + 1)
            self.console.print(f"[dim]set-up{indent}{label}: {seconds:.1f} s[/]", highlight=False)

    def close(self) -> None:
        if self._own is not None:
            self._own.stop()
            self._own = None
