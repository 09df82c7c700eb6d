"""Interactions: how lessons go out and what comes back, as rounds of an episode."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ilm_core import Capability, InteractionSpec, NoParams, PluginSpec, hookimpl


class SendInBatchesParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rounds: int = Field(5, ge=1, description="rounds the budget is split into (near-equal batches)")
    batch: int | None = Field(
        None, ge=1, description="sentences per round instead: budget // batch rounds of exactly this many"
    )
    mid_terms: bool = Field(
        True, description="an exam after every round, which the teacher learns from; false = only the final exam"
    )


class MidTermExamsParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rounds: int = Field(2, ge=1, description="rounds the budget is split into; a mid-term exam after each but the last")
    reward: Literal["final", "mid-terms", "all"] = Field(
        "final",
        description="which exams the teacher learns from: the final one, the mid-terms, or all; it sees every one",
    )


class AskForFeedbackParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    samples: int = Field(8, ge=1, description="sentences each student generates for the teacher to judge")
    judge_updates: int = Field(300, ge=0, description="pretraining updates of the teacher's judging LM on its corpus")
    judge_dim: int = Field(64, ge=8, description="width of the judging LM")
    judge_layers: int = Field(2, ge=1)
    judge_lr: float = Field(1e-3, gt=0)
    judge_batch_size: int = Field(32, ge=1)


class AnswerStudentsParams(BaseModel):
    """Rounds in which every student is told of its own work: its exam score, and the answer to the
    sentences it generated (the environment's judgement, a judging LM's score, or none)."""

    model_config = ConfigDict(extra="forbid")

    rounds: int = Field(2, ge=1, description="rounds the budget is split into; a mid-term exam after each but the last")
    samples: int = Field(
        16, ge=0, description="sentences each student generates after each round but the last (0: none)"
    )
    answer: Literal["environment", "teacher-lm", "none"] = Field(
        "environment",
        description="who answers the generated sentences: 'environment' says whether each belongs to the "
        "language, where and which rule it breaks (Environment.judge); 'teacher-lm' a judging LM pretrained on "
        "the teacher corpus scores each (its perplexity); 'none' sends them back unanswered (the ablation)",
    )
    judge_updates: int = Field(300, ge=0, description="pretraining updates of the judging LM ('teacher-lm')")
    judge_dim: int = Field(64, ge=8, description="width of the judging LM")
    judge_layers: int = Field(2, ge=1)


@hookimpl
def ilm_interactions() -> Iterator[PluginSpec]:  # InteractionSpec is made at run time: not a type to mypy
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
    yield InteractionSpec(
        name="send-in-batches",
        summary="the lesson goes out in rounds; students take an exam after each (average, per-item and component "
        "scores back), the teacher learns before the next",
        factory="ilm_plugins.interactions.rounds:SendInBatches",
        params=SendInBatchesParams,
        roadmap=(
            "interaction.teacher.send-in-batches",
            "interaction.student.single-average-score",
            "interaction.student.per-item-score",
        ),
    )
    yield InteractionSpec(
        name="mid-term-exams",
        summary="mid-term exams between rounds and a final exam (average, per-item and component scores back); "
        "a param says which of them reward the teacher",
        factory="ilm_plugins.interactions.rounds:MidTermExams",
        params=MidTermExamsParams,
        roadmap=(
            "interaction.teacher.mid-term-exams",
            "interaction.student.single-average-score",
            "interaction.student.per-item-score",
        ),
    )
    yield InteractionSpec(
        name="ask-for-feedback",
        summary="students generate sentences; the teacher's LM judges them and that judgement is the feedback",
        factory="ilm_plugins.interactions.ask_for_feedback:AskForFeedback",
        params=AskForFeedbackParams,
        roadmap=("interaction.student.ask-for-feedback",),
        capabilities=frozenset({Capability.ANSWERS_STUDENTS}),
    )
    yield InteractionSpec(
        name="answer-students",
        summary="rounds with a mid-term exam after each; every student is told its own score and, when it "
        "generates sentences, the environment's (or a judging LM's) answer to each",
        factory="ilm_plugins.interactions.answer_students:AnswerStudents",
        params=AnswerStudentsParams,
        roadmap=("interaction.student.ask-for-feedback",),
        capabilities=frozenset({Capability.ANSWERS_STUDENTS, Capability.ASKS_ENVIRONMENT}),
    )
