"""Exams: perplexity (per item, per length component) and minimal pairs (BLiMP accuracy per phenomenon)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ilm_core import ExamSpec, PluginSpec, hookimpl


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
    components: Literal["none", "length"] = Field(
        "none",
        description="score the feedback exam per component too: 'length' = per sentence-length bucket "
        "(length_bounds); the feedback then carries a score per component",
    )
    length_bounds: list[int] = Field(
        default_factory=lambda: [4, 7], min_length=1, description="upper ends of the length buckets, in tokens"
    )

    @field_validator("length_bounds")
    @classmethod
    def _increasing(cls, value: list[int]) -> list[int]:
        if any(b <= a for a, b in itertools.pairwise(value)) or value[0] < 1:
            raise ValueError(f"length_bounds {value} must be positive and strictly increasing")
        return value


class MinimalPairsParams(PerplexityParams):
    """The minimal-pair exam: BLiMP accuracy per phenomenon (components = phenomena)."""

    feedback_on: Literal["pairs", "sentences"] = Field(
        "pairs",
        description="'pairs': the feedback exam is minimal pairs (the reward can be their accuracy; `feedback` "
        "and pairs_per_exam choose them); 'sentences': the perplexity exam's feedback, with the pairs' accuracy "
        "recorded every episode as an evaluation",
    )
    pairs_per_exam: int | None = Field(
        40, ge=1, description="pairs in a feedback exam (fixed: the first ones; fresh: a new draw); None = all"
    )
    heldout: bool = Field(True, description="also score the held-out pairs every episode (never sent to a teacher)")


@hookimpl
def ilm_exams() -> Iterator[PluginSpec]:  # ExamSpec is made at run time: not a type to mypy
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
            "evaluation.student.fine-grained-score",
        ),
    )
    yield ExamSpec(
        name="minimal-pairs",
        summary="BLiMP accuracy: share of minimal pairs whose good sentence the student finds more probable",
        factory="ilm_plugins.exams.minimal_pairs:MinimalPairsExam",
        params=MinimalPairsParams,
        roadmap=(
            "evaluation.student.specific-tasks.known-subset",
            "evaluation.student.fine-grained-score",
            "evaluation.student.heldout-final-exam",
        ),
    )
