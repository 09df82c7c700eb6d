"""The `per-item` interaction: like the paper's all-at-once, but the feedback carries the
student's perplexity on each item of the feedback exam, not only their average."""

from __future__ import annotations

from typing import Any

from ilm_core import EpisodeContext, Feedback, Interaction, InteractionOutcome


class PerItem(Interaction):
    def __init__(self, params: Any = None):
        self.params = params

    def run_episode(self, context: EpisodeContext) -> InteractionOutcome:
        lessons = context.teacher.select(context.n_students, context.episode)
        reports = context.examine(lessons)
        feedback = []
        for report in reports:
            result = report.exams["feedback"]
            feedback.append(
                Feedback(
                    student=report.student,
                    lesson=lessons[report.student],
                    score=result.perplexity,
                    item_scores=list(result.item_perplexities),
                )
            )
        update = context.teacher.learn(feedback)
        return InteractionOutcome(lessons=lessons, feedback=feedback, reports=reports, teacher=update)
