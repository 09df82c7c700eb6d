"""The paper's interaction: all data at once, a single average exam score back (Section 4)."""

from __future__ import annotations

from typing import Any

from ilm_core import EpisodeContext, Feedback, Interaction, InteractionOutcome


class AllAtOnce(Interaction):
    def __init__(self, params: Any = None):
        self.params = params

    def run_episode(self, context: EpisodeContext) -> InteractionOutcome:
        lessons = context.teacher.select(context.n_students, context.episode)
        reports = context.examine(lessons)
        feedback = [
            Feedback(student=r.student, lesson=lessons[r.student], score=r.exams["feedback"].perplexity)
            for r in reports
        ]
        update = context.teacher.learn(feedback)
        return InteractionOutcome(lessons=lessons, feedback=feedback, reports=reports, teacher=update)
