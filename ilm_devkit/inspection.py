"""What a run's teacher has learned: its preferences over the pool at its last checkpoint.

The teacher is rebuilt exactly as a resume would rebuild it (same config, same environment data,
same seed for its setup, then the checkpoint's state), so what is shown is what the run's next
episode would have used. Nothing in the run directory is written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydantic

from ilm_core.build import build_environment, build_teacher, setup_teacher
from ilm_core.cache import SetupCache
from ilm_core.checkpoint_state import check_environment
from ilm_core.config import ExperimentConfig, resolve
from ilm_core.errors import PluginError, RunDirError
from ilm_core.interfaces import SetupTools
from ilm_core.messages import EnvironmentData, SentencePreferences
from ilm_core.registry import Registry
from ilm_core.rundir import RunDir


class NoPreferencesError(PluginError):
    """The run's teacher keeps no per-sentence preferences (oracle, random, ...): nothing to show."""


@dataclass
class TeacherView:
    """A run's teacher preferences at one checkpoint, with the data they refer to."""

    run: Path
    config: ExperimentConfig
    data: EnvironmentData
    episode: int
    checkpoint: Path
    preferences: SentencePreferences

    def ranking(self, top: int | None = None) -> list[dict[str, Any]]:
        """Pool sentences from the most to the least favoured (ties: lower pool index first)."""
        prefs, data = self.preferences, self.data
        labels = data.pool_in_exam_domain
        order = sorted(range(len(prefs.values)), key=lambda i: (-prefs.values[i], i))
        rows = []
        for rank, i in enumerate(order[:top] if top is not None else order, start=1):
            rows.append(
                {
                    "rank": rank,
                    "pool_index": i,
                    "value": prefs.values[i],
                    "std": prefs.std[i] if prefs.std is not None else None,
                    "exam_domain": labels[i] if labels is not None else None,
                    "length": len(data.pool[i]),
                    "sentence": " ".join(data.vocabulary[t] for t in data.pool[i]),
                }
            )
        return rows

    def exam_domain_in_top(self, k: int) -> int | None:
        """How many of the k most favoured sentences come from the exam's domain or structure
        (None: the environment does not label its pool so)."""
        if self.data.pool_in_exam_domain is None:
            return None
        count: int = sum(row["exam_domain"] for row in self.ranking(k))
        return count


def inspect_teacher(
    run: Path,
    registry: Registry,
    notify: Callable[[str], None] = lambda m: None,
    device: str | None = None,
    tools: SetupTools | None = None,
) -> TeacherView:
    """Rebuild the teacher of the run in `run` from its newest loadable checkpoint.

    `device` overrides the run's device (e.g. "cpu" for a run made on a GPU); a teacher that
    trains something in `setup` (select-bin's LM) then rebuilds it there, which may move its
    numbers by float rounding.
    """
    rd = RunDir(run)
    raw = rd.read_config()
    config = resolve({**raw, "device": device} if device is not None else raw, registry)
    loaded = rd.load_checkpoint(notify)
    if loaded is None:
        raise RunDirError(
            f"{run} holds no checkpoint yet ({run}/checkpoints/ is empty or missing): a run writes one every "
            f"{config.checkpoint_every} episode(s) and after its last; inspect it after its first checkpoint."
        )
    state, path = loaded
    tools = tools or SetupTools(cache=SetupCache.from_env(notify=notify), notify=notify)
    with tools.steps.step(f"building the environment of {run}"):
        data = build_environment(config, registry)
    check_environment(state, path, data)
    teacher = build_teacher(config, registry)
    with tools.steps.step(f"setting up the teacher of {run}"):
        setup_teacher(teacher, config, data, registry, tools)
    teacher.load_state_dict(state["teacher"])
    method = getattr(teacher, "preferences", None)  # a duck-typed plugin may lack it
    prefs = method() if method is not None else None
    if prefs is None:
        raise NoPreferencesError(
            f"teacher plugin '{config.teacher.name}' keeps no per-sentence preferences (its preferences() "
            "returns None), so there is nothing to inspect: a teacher shows what it has learned by implementing "
            "Teacher.preferences() (docs/writing-plugins.md).",
            plugin=config.teacher.name,
            stage="preferences",
        )
    if not isinstance(prefs, SentencePreferences):
        try:
            prefs = SentencePreferences.model_validate(prefs)
        except pydantic.ValidationError as exc:
            raise PluginError(
                f"teacher plugin '{config.teacher.name}' returned preferences that are not a SentencePreferences: "
                f"{' '.join(str(exc).split())}",
                plugin=config.teacher.name,
                stage="preferences",
            ) from None
    if len(prefs.values) != len(data.pool):
        raise PluginError(
            f"teacher plugin '{config.teacher.name}' returned {len(prefs.values)} preferences for a pool of "
            f"{len(data.pool)} sentences; preferences() must give one value per pool sentence.",
            plugin=config.teacher.name,
            stage="preferences",
        )
    return TeacherView(Path(run), config, data, int(state["episode"]), path, prefs)
