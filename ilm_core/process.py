"""Setting a process up before torch starts OpenMP: a plugin's job (the thread plan is the
`ilm_threads` package's), asked through the process hooks of the installed plugins. Without
a plugin that answers, each call does nothing."""

from __future__ import annotations

from typing import Any

from ilm_core.registry import default_registry


def setup(choice: str | None = None) -> None:
    """First thing in an entry point (`ilm`, a sweep worker), or with `ilm run --threads CHOICE`."""
    default_registry().pm.hook.ilm_process_setup(choice=choice)


def plan() -> dict[str, Any] | None:
    """The set-up in effect, put in effect now (torch's threads set), for provenance and summaries."""
    found: dict[str, Any] | None = default_registry().pm.hook.ilm_process_plan()
    return found


def apply() -> None:
    """Put the set-up in effect before a run builds anything (no-op without one)."""
    plan()


def describe() -> str | None:
    """One line for the terminal, or None."""
    line: str | None = default_registry().pm.hook.ilm_process_describe()
    return line


def worker_environment(jobs: int) -> dict[str, str]:
    """Environment variables for each of `jobs` worker processes sharing this process's set-up."""
    env: dict[str, str] = {}
    for part in reversed(default_registry().pm.hook.ilm_worker_environment(jobs=jobs)):
        env.update(part)
    return env
