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

from ilm_core.messages import ComponentRef, EnvironmentData, Sentence


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


def check_population(groups: Sequence[PopulationGroup], students: int) -> str | None:
    """Why the groups do not describe `students` students (None when they do)."""
    names = [g.name for g in groups]
    if len(set(names)) != len(names):
        return f"population group names must differ, got {names}"
    total = sum(g.count for g in groups)
    if total != students:
        counts = "+".join(str(g.count) for g in groups)
        return f"population groups hold {counts} = {total} students but students = {students}; make them add up"
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
    candidates = [s for s, label in zip(data.pool, data.pool_in_exam_domain, strict=True) if label == inside]
    if len(candidates) < group.prior_sentences:
        raise ValueError(
            f"population group '{group.name}' asks for {group.prior_sentences} {group.prior} prior sentences, "
            f"the pool has {len(candidates)}"
        )
    return [list(s) for s in random.Random(seed).sample(candidates, group.prior_sentences)]
