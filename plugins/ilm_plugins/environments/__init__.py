"""Environments: the artificial languages of the paper (Task 1, Task 2) and a random language."""

from __future__ import annotations

import string
from collections.abc import Iterator
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ilm_core import EnvironmentSpec, hookimpl


class SplitSizes(BaseModel):
    """Sizes of the data sets every reference environment builds (all pairwise disjoint)."""

    model_config = ConfigDict(extra="forbid")

    teacher_corpus_size: int = Field(100, ge=0, description="sentences to pretrain the teacher's LM")
    pool_size: int = Field(100, ge=1, description="sentences the teacher can select from")
    exam_size: int = Field(10, ge=1, description="sentences of the (fixed) feedback exam")
    exam_bank_size: int = Field(200, ge=0, description="exam-domain sentences for fresh feedback exams")
    heldout_size: int = Field(50, ge=0, description="held-out final exam, never seen by a teacher")


class DomainsParams(SplitSizes):
    exam_vocabulary: list[str] = Field(default_factory=lambda: list("abcdefghij"), min_length=1)
    other_vocabulary: list[str] = Field(default_factory=lambda: list("klmnopqrst"), min_length=1)
    sentence_length: int = Field(10, ge=1)
    pool_exam_fraction: float = Field(0.5, ge=0, le=1, description="share of V1 sentences in the pool")
    corpus_exam_fraction: float = Field(0.5, ge=0, le=1, description="share of V1 sentences in the teacher corpus")
    shared_tokens: int = Field(
        0, ge=0, description="overlapping domains: V2 sentences use the last N tokens of V1 in place of N of their own"
    )

    @model_validator(mode="after")
    def _disjoint_vocabularies(self) -> DomainsParams:
        if self.shared_tokens >= min(len(self.exam_vocabulary), len(self.other_vocabulary)):
            raise ValueError(f"shared_tokens = {self.shared_tokens} must be below the size of each vocabulary")
        shared = set(self.exam_vocabulary) & set(self.other_vocabulary)
        if shared:
            raise ValueError(
                f"exam_vocabulary and other_vocabulary share {sorted(shared)}; the domains must be disjoint"
            )
        return self


class StructuresParams(SplitSizes):
    vocabulary: list[str] = Field(default_factory=lambda: list("abcdefghij"), min_length=2)
    min_length: int = Field(2, ge=2)
    max_length: int = Field(10, ge=2)
    pool_exam_fraction: float = Field(0.2, ge=0, le=1, description="share of Structure 1 sentences in the pool")
    corpus_exam_fraction: float = Field(0.2, ge=0, le=1, description="share of Structure 1 in the teacher corpus")
    # Default no-repeat: the paper defines Structure 1 by "two identical tokens never occur next to
    # each other" and Structure 2 by "tokens are sampled in pairs", and only this reading's lessons
    # give its Table 4 unigram overlap of 1.00 (docs/reproduction.md, Table 4, "Which reading").
    reading: Literal["alternation", "no-repeat"] = Field(
        "no-repeat",
        description="'no-repeat': Structure 1 = no two identical neighbours, Structure 2 = any tokens in "
        "pairs; 'alternation': Structure 1 = xyxy..., Structure 2 = xxyyxx... (two tokens, the strict "
        "reading of the paper's '(xy)^n')",
    )

    @model_validator(mode="after")
    def _lengths(self) -> StructuresParams:
        if self.min_length > self.max_length:
            raise ValueError(f"min_length {self.min_length} is larger than max_length {self.max_length}")
        return self


class RandomParams(SplitSizes):
    vocabulary_size: int = Field(20, ge=2, le=52)
    sentence_length: int = Field(10, ge=1)


@hookimpl
def ilm_environments() -> Iterator[EnvironmentSpec]:
    yield EnvironmentSpec(
        name="domains",
        summary="Task 1: V1 (a..j) vs V2 (k..t) sentences; the exam is V1 only",
        factory="ilm_plugins.environments.languages:DomainsEnvironment",
        params=DomainsParams,
        roadmap=("environment.language.artificial.different-domains", "task.teacher.select-optimal-data"),
    )
    yield EnvironmentSpec(
        name="structures",
        summary="Task 2: Structure 1 (single repetitions) vs Structure 2 (double repetitions) over V1",
        factory="ilm_plugins.environments.languages:StructuresEnvironment",
        params=StructuresParams,
        roadmap=("environment.language.artificial.structures", "task.teacher.select-optimal-data"),
    )
    yield EnvironmentSpec(
        name="random",
        summary="uniformly random tokens: a sanity language where every lesson is as good as another",
        factory="ilm_plugins.environments.languages:RandomEnvironment",
        params=RandomParams,
        roadmap=("environment.language.artificial.random",),
    )


LETTERS = string.ascii_letters
