"""What continues an experiment elsewhere (a checkpoint, `Experiment.state_dict()`): the teacher, the
random generators, the students kept for the run and what they were last told, and the environment it
was made with, so that a restore refuses a state of other data instead of going on with wrong numbers."""

from __future__ import annotations

import hashlib
from typing import Any

from ilm_core import seeding
from ilm_core.config import ExperimentConfig
from ilm_core.errors import RunDirError
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
    state: dict[str, Any], source: Any, config: ExperimentConfig, teacher: Teacher, executor: Any, data: EnvironmentData
) -> list[StudentFeedback | None]:
    """Put `state` (from `source`, named in errors) back into the teacher, the students kept for the run
    and the random generators (older checkpoints kept torch's alone); returns what those students were
    last told."""
    check_environment(state, source, data)
    teacher.load_state_dict(state["teacher"])
    if config.student_lifetime == "run" and "students" in state:
        load_students(executor, "run", config.population, state["students"])
    told = [StudentFeedback.model_validate(t) if t else None for t in state.get("student_feedback") or []]
    seeding.set_rng_state(state.get("rng") or {"torch": state.get("torch_rng")})
    return told


def fingerprint(data: EnvironmentData) -> str:
    # the data sets only: minimal pairs are built from them, artifacts (a tokenizer) from the corpus
    derived = {"minimal_pairs", "heldout_minimal_pairs", "artifacts"}
    return hashlib.sha256(data.model_dump_json(exclude=derived).encode()).hexdigest()[:16]


def check_environment(state: dict[str, Any], path: Any, data: EnvironmentData) -> None:
    """A checkpoint is only valid for the data it was trained on: refuse one from other data."""
    env = state.get("environment", {})
    if env.get("fingerprint") != fingerprint(data):
        raise RunDirError(
            f"checkpoint {path} was written for a different environment "
            f"({env.get('name')}, fingerprint {env.get('fingerprint')}); the environment "
            "plugin now builds other data. Reinstall the version the run used, or start a new run."
        )
