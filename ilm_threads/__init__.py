"""The thread plan of ilm's processes: how many torch threads a run uses, and how idle OpenMP
threads wait (`ilm_threads.policy` says why). A plugin of ilm like any other: the core asks for
the plan through the process hooks (`ilm_process_setup` before torch starts OpenMP,
`ilm_process_plan`, `ilm_process_describe`, `ilm_worker_environment`); the torch-based executors
import `current` and `guard` from here."""

from __future__ import annotations

import dataclasses
from typing import Any

from ilm_core import hookimpl
from ilm_threads.policy import ENV, ENV_CORES, ThreadPlan, apply, child_environment, current, guard, plan, prepare

__all__ = ["ENV", "ENV_CORES", "ThreadPlan", "apply", "child_environment", "current", "guard", "plan", "prepare"]


@hookimpl
def ilm_process_setup(choice: str | None) -> None:
    prepare(choice)


@hookimpl
def ilm_process_plan() -> dict[str, Any]:
    return dataclasses.asdict(current())


@hookimpl
def ilm_process_describe() -> str:
    return current().describe()


@hookimpl
def ilm_worker_environment(jobs: int) -> dict[str, str]:
    return child_environment(jobs)
