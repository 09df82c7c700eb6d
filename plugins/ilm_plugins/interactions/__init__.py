"""Interactions: how lessons go out and what comes back."""

from __future__ import annotations

from collections.abc import Iterator

from ilm_core import InteractionSpec, NoParams, hookimpl


@hookimpl
def ilm_interactions() -> Iterator[InteractionSpec]:
    yield InteractionSpec(
        name="all-at-once",
        summary="the teacher sends each student its whole lesson at once; each sends back its average exam score "
        "(and its component scores and minimal-pair accuracy, when the exam has them)",
        factory="ilm_plugins.interactions.all_at_once:AllAtOnce",
        params=NoParams,
        roadmap=(
            "interaction.teacher.send-all-at-once",
            "interaction.student.single-average-score",
            "interaction.student.component-scores",
        ),
    )
