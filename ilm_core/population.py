"""Mixed populations: one run's N students split into groups that differ in student plugin,
size or prior knowledge, declared in the config (`population`).

Each group trains as its own job (its own student plugin, its own kept students), so
architectures mix freely. A group may start with prior knowledge: before it is first taught,
each of its students trains on `prior_sentences` pool sentences from the exam's domain or from
outside it. A teacher sees one `StudentDescriptor` per student (group, plugin, params, prior),
never anything of a student beyond it and the feedback.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ilm_core.errors import ConfigError
from ilm_core.messages import ComponentRef, EnvironmentData, Sentence, StudentReport, TrainingJob


class PopulationGroup(BaseModel):
    """`count` students of one kind."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, description="what reports and descriptors call the group, e.g. 'lstm-v2'")
    count: int = Field(ge=1, description="students in the group")
    student: ComponentRef | None = Field(None, description="student plugin and params (default: the run's student)")
    prior: Literal["none", "exam-domain", "other-domain"] = Field(
        "none", description="prior knowledge: trained on sentences of the exam's domain, or outside it, first"
    )
    prior_sentences: int = Field(10, ge=1, description="pool sentences in the prior lesson")


class StudentDescriptor(BaseModel):
    """What a teacher may know about one student: its kind, never its scores."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    group: str
    student: str
    params: dict[str, Any] = Field(default_factory=dict)
    prior: str = "none"


def groups_of(config: Any) -> list[PopulationGroup]:
    """The config's population, or one group "all" of `n_students` students of the run's student."""
    return list(config.population or [PopulationGroup(name="all", count=config.n_students)])


def check_population(groups: Sequence[PopulationGroup], n_students: int) -> str | None:
    """Why the groups do not describe `n_students` students (None when they do)."""
    names = [g.name for g in groups]
    if len(set(names)) != len(names):
        return f"population group names must differ, got {names}"
    total = sum(g.count for g in groups)
    if total != n_students:
        counts = "+".join(str(g.count) for g in groups)
        return f"population groups hold {counts} = {total} students but n_students = {n_students}; make them add up"
    return None


def members(groups: Sequence[PopulationGroup]) -> list[list[int]]:
    """The episode's student indices of every group, contiguous in config order."""
    out, start = [], 0
    for g in groups:
        out.append(list(range(start, start + g.count)))
        start += g.count
    return out


def descriptors(groups: Sequence[PopulationGroup], default: ComponentRef) -> list[StudentDescriptor]:
    """One descriptor per student, in student order."""
    out = []
    for g in groups:
        ref = g.student or default
        out += [StudentDescriptor(group=g.name, student=ref.name, params=ref.params, prior=g.prior)] * g.count
    return out


def prior_lesson(group: PopulationGroup, data: EnvironmentData, seed: int) -> list[Sentence]:
    """The sentences a group's students learn before they are first taught (drawn once per run)."""
    if group.prior == "none":
        return []
    inside = group.prior == "exam-domain"
    labels = data.require_labels(None, f"population group '{group.name}' (prior = '{group.prior}')")
    candidates = [s for s, label in zip(data.pool, labels, strict=True) if label == inside]
    if len(candidates) < group.prior_sentences:
        raise ConfigError(
            f"population group '{group.name}' asks for {group.prior_sentences} {group.prior} prior sentences, "
            f"the pool has {len(candidates)}; lower prior_sentences or enlarge the pool"
        )
    return [list(s) for s in random.Random(seed).sample(candidates, group.prior_sentences)]


def run_round(
    executor: Any,
    job: TrainingJob,
    groups: Sequence[PopulationGroup],
    priors: dict[str, list[Sentence]],
    *,
    fresh: bool,
    tag: str,
) -> list[StudentReport]:
    """Run one round's job group by group (each with its own student plugin and kept students)
    and return the reports in student order.

    `fresh`: the students are new this round, so a group with prior knowledge learns its prior
    lesson first (without an exam). Students kept for the run or the episode live in cohort
    "<cohort>/<group>"; a one-round job that keeps none uses "<tag>/<group>" for the prior and
    releases it with the round.
    """
    reports: list[StudentReport] = []
    for group, ids in zip(groups, members(groups), strict=True):
        prior = priors.get(group.name, [])
        cohort = f"{job.cohort}/{group.name}" if job.cohort else (f"{tag}/{group.name}" if prior else None)
        sub = job.subset(ids).model_copy(
            update={
                "student": group.student or job.student,
                "cohort": cohort,
                "release": job.release or (job.cohort is None and cohort is not None),
                "continued": job.continued or (fresh and bool(prior)),  # made by the prior lesson below
            }
        )
        if fresh and prior:
            executor.run(
                sub.model_copy(
                    update={
                        "lessons": [prior] * len(ids),
                        "exams": {},
                        "release": False,
                        "continued": False,
                        "probe": 0,
                        "student_feedback": [],
                        "lesson_teachers": [],
                        "sentence_losses": False,
                        "placement": [],
                    }
                )
            )
        reports += [r.model_copy(update={"student": ids[r.student]}) for r in executor.run(sub)]
    return reports


def cohorts(cohort: str, groups: Sequence[PopulationGroup] | None) -> list[str]:
    """The names under which an executor keeps a (mixed) cohort's students."""
    return [cohort] if not groups else [f"{cohort}/{g.name}" for g in groups]


def save_students(executor: Any, cohort: str, groups: Sequence[PopulationGroup] | None) -> dict[str, Any]:
    """A checkpoint's students: the executor's state of the cohort (of each group's, for a mixed one)."""
    if not groups:
        state: dict[str, Any] = executor.save_students(cohort)
        return state
    return {"groups": {name: executor.save_students(name) for name in cohorts(cohort, groups)}}


def load_students(executor: Any, cohort: str, groups: Sequence[PopulationGroup] | None, state: dict[str, Any]) -> None:
    """Restore what `save_students` returned."""
    if not groups:
        executor.load_students(cohort, state)
        return
    for name in cohorts(cohort, groups):
        executor.load_students(name, state["groups"][name])
