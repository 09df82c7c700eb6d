"""The paper's measure of what a teacher learned to choose: the share of taught sentences from the
exam's domain (Figure 2b), from the environment's labels of its pool and of generated sentences."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence

from ilm_core import EpisodeView, Lesson, Measure, MeasureContext, MeasureResult, NoParams

#: the record's name of the measure (per student, per episode and per round)
KEY = "fraction_exam_domain"


def exam_domain_labels(
    lesson: Lesson, pool_labels: Sequence[bool], label: Callable[[list[int]], bool | None]
) -> list[bool]:
    """Whether each sentence of a lesson is in the exam's domain; a generated sentence the
    environment cannot label counts as outside it (the core counts those: `generated_unlabelled`)."""
    return [pool_labels[j] for j in lesson.indices] + [label(s) is True for s in lesson.sentences]


def exam_domain_fraction(
    lesson: Lesson, pool_labels: Sequence[bool], label: Callable[[list[int]], bool | None]
) -> float:
    """Share of a lesson's sentences in the exam's domain (0 for an empty lesson)."""
    labels = exam_domain_labels(lesson, pool_labels, label)
    return statistics.fmean(labels) if labels else 0.0


class ExamDomainMeasure(Measure):
    """`fraction_exam_domain` per student and its mean per episode and round; `fraction_exam_domain_used`
    per student when students trained on part of what they received. With hidden per-student goals
    the exam's domain is each student's own goal. Records nothing, with a note, in an environment
    without exam-domain labels."""

    def __init__(self, params: NoParams | None = None):
        self.params = params

    def setup(self, context: MeasureContext) -> None:
        self.labels = context.data.pool_in_exam_domain
        self.goal_labels = {name: goal.pool for name, goal in context.data.goals.items()}
        self.label = context.label
        if self.labels is None and not self.goal_labels:
            context.notify(
                f"environment '{context.environment}' does not label its pool by the exam's domain "
                "(pool_in_exam_domain = None), so the exam-domain measure records nothing in this run"
            )

    def measure(self, episode: EpisodeView) -> MeasureResult:
        n = len(episode.lessons)
        if episode.goals is not None and self.goal_labels:  # each student's own goal is its exam's domain
            mine = [self.goal_labels[goal] for goal in episode.goals]
        elif self.labels is not None:
            mine = [self.labels] * n
        else:
            return MeasureResult()
        fractions = [exam_domain_fraction(lesson, mine[i], self.label) for i, lesson in enumerate(episode.lessons)]
        per_student: dict[str, list[float | None]] = {KEY: list(fractions)}
        if any(used != lesson.indices for used, lesson in zip(episode.used, episode.lessons, strict=True)):
            per_student[f"{KEY}_used"] = [
                statistics.fmean(mine[i][j] for j in u) if u else None for i, u in enumerate(episode.used)
            ]
        rounds = [
            {
                KEY: statistics.fmean(
                    x for lesson in sent for x in exam_domain_labels(lesson, mine[lesson.student], self.label)
                )
            }
            for sent in episode.rounds
        ]
        return MeasureResult(per_student=per_student, episode={KEY: statistics.fmean(fractions)}, rounds=rounds)
