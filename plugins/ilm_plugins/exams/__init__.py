"""Exams: per-item and average perplexity, with a choice of feedback-exam policy."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ilm_core import ExamSpec, hookimpl


class PerplexityParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    feedback: Literal["fixed", "fresh", "bank"] = Field(
        "fresh",
        description="feedback exam each episode: 'fixed' = the environment's exam every episode "
        "(the paper), 'fresh' = a new draw from the exam bank each episode, 'bank' = the whole bank",
    )
    fresh_size: int | None = Field(
        None, ge=1, description="size of a fresh exam; None = the size of the environment's exam"
    )


@hookimpl
def ilm_exams() -> Iterator[ExamSpec]:
    yield ExamSpec(
        name="perplexity",
        summary="per-item and average perplexity (end of sentence included) on the exam",
        factory="ilm_plugins.exams.perplexity:PerplexityExam",
        params=PerplexityParams,
        roadmap=(
            "evaluation.student.perplexity",
            "evaluation.student.average-score",
            "evaluation.student.heldout-final-exam",
            "interaction.teacher.fresh-exams",
        ),
    )
