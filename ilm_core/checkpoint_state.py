"""What continues an experiment elsewhere (a checkpoint, `Experiment.state_dict()`): the teacher, the
random generators, the students kept for the run and what they were last told, and the environment it
was made with, so that a restore refuses a state of other data instead of going on with wrong numbers."""

from __future__ import annotations

from typing import Any

from ilm_core import seeding
from ilm_core.build import check_environment, fingerprint
from ilm_core.config import ExperimentConfig
from ilm_core.interfaces import Teacher
from ilm_core.messages import EnvironmentData, StudentFeedback
from ilm_core.population import load_students, save_students


def checkpoint_state(
    completed: int,
    config: ExperimentConfig,
    teacher: Teacher,
    executor: Any,
    data: EnvironmentData,
    told: list[StudentFeedback | None],
) -> dict[str, Any]:
    """The state after `completed` episodes; `told`: what students kept for the run were last told."""
    return {
        "episode": completed,
        "teacher": teacher.state_dict(),
        "rng": seeding.rng_state(),
        **({"students": save_students(executor, "run", config.population)} if config.student_lifetime == "run" else {}),
        **({"student_feedback": [t and t.model_dump() for t in told]} if told else {}),
        "environment": {
            "name": config.environment.name,
            "params": config.environment.params,
            "fingerprint": fingerprint(data),
        },
    }


def restore(
    state: dict[str, Any],
    source: Any,
    config: ExperimentConfig,
    teacher: Teacher,
    executor: Any,
    data: EnvironmentData,
    *,
    rng: bool = True,
) -> list[StudentFeedback | None]:
    """Put `state` (from `source`, named in errors) back into the teacher, the students kept for the run
    and, with `rng`, the random generators; returns what those students were last told."""
    check_environment(state, source, data)
    teacher.load_state_dict(state["teacher"])
    if config.student_lifetime == "run" and "students" in state:
        load_students(executor, "run", config.population, state["students"])
    told = [StudentFeedback.model_validate(t) if t else None for t in state.get("student_feedback") or []]
    if rng:
        restore_rng(state)
    return told


def restore_rng(state: dict[str, Any]) -> None:
    """The random generators as `state` saved them (older checkpoints kept torch's alone)."""
    seeding.set_rng_state(state.get("rng") or {"torch": state.get("torch_rng")})
