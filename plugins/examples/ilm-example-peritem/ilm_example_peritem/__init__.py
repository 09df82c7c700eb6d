"""ilm-example-peritem: the student-side step "send a fine-grained exam score back: score per
item" (Table 1, Interaction), and a teacher that acts on it.

Written as an outside researcher would: it imports only `ilm_core`'s public API and is found
through its entry point. It registers an interaction, a teacher and one new road-map cell.
"""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import BaseModel, ConfigDict, Field

from ilm_core import InteractionSpec, NoParams, RoadmapCell, TeacherSpec, hookimpl

#: the road-map cell this plugin adds (its teacher implements it)
PER_ITEM_CREDIT = "teacher.awareness.per-item-credit"


class PerItemBanditParams(BaseModel):
    """Params of `per-item-bandit` (set with --set teacher.NAME=VALUE)."""

    model_config = ConfigDict(extra="forbid")

    lr: float = Field(0.5, gt=0, description="step size of the per-sentence value updates")
    temperature: float = Field(1.0, gt=0, description="softmax temperature of the selection")
    min_std: float = Field(
        0.05,
        gt=0,
        description="floor of an item's spread across students (log-perplexity), so an "
        "item all students score alike adds no noise",
    )


@hookimpl
def ilm_interactions() -> Iterator[InteractionSpec]:
    yield InteractionSpec(
        name="per-item",
        summary="all lessons at once; each student sends back its perplexity on every exam item",
        factory="ilm_example_peritem.interaction:PerItem",
        params=NoParams,
        roadmap=("interaction.teacher.send-all-at-once", "interaction.student.per-item-score"),
    )


@hookimpl
def ilm_teachers() -> Iterator[TeacherSpec]:
    yield TeacherSpec(
        name="per-item-bandit",
        summary="value per pool sentence, credited by per-item exam scores relative to the episode",
        factory="ilm_example_peritem.teacher:PerItemBandit",
        params=PerItemBanditParams,
        roadmap=("teacher.speaking.select-from-bin", "task.teacher.select-optimal-data", PER_ITEM_CREDIT),
    )


@hookimpl
def ilm_roadmap_cells() -> Iterator[RoadmapCell]:
    yield RoadmapCell(
        id=PER_ITEM_CREDIT,
        component="teacher",
        group="degrees of awareness",
        text="Credit each sentence sent by the student's score on every exam item, each item "
        "compared across the students of the episode, and act on it in the next lessons",
        parent="teacher.awareness.student-model",
    )
