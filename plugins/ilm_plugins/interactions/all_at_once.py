"""The paper's interaction: all data at once, a single average exam score back (Section 4)."""

from __future__ import annotations

from typing import Any

from ilm_core import EpisodeContext, ExamResult, Feedback, Interaction, InteractionOutcome, Lesson


def feedback_of(result: ExamResult, student: int, lesson: Lesson) -> Feedback:
    """The average score back, with the minimal-pair accuracy and the component scores when the exam has them."""
    components = {name: part.score for name, part in result.components.items()} if result.components else None
    return Feedback(
        student=student, lesson=lesson, score=result.perplexity, accuracy=result.accuracy, components=components
    )


class AllAtOnce(Interaction):
    def __init__(self, params: Any = None):
        self.params = params

    def run_episode(self, context: EpisodeContext) -> InteractionOutcome:
        lessons = context.teacher.select(context.n_students, context.episode)
        reports = context.examine(lessons)
        feedback = [feedback_of(r.exams["feedback"], r.student, lessons[r.student]) for r in reports]
        update = context.teacher.learn(feedback)
        return InteractionOutcome(lessons=lessons, feedback=feedback, reports=reports, teacher=update)
