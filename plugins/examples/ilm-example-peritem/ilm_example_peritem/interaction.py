"""The `per-item` interaction: like the paper's all-at-once, but the feedback carries the
student's perplexity on each item of the feedback exam, not only their average."""

from __future__ import annotations

from typing import Any

from ilm_core import Feedback, Interaction, Round, RoundResult


class PerItem(Interaction):
    def __init__(self, params: Any = None):
        self.params = params

    def plan(self, budget: int, n_students: int) -> list[Round]:
        return [Round(size=budget, exam="final")]

    def feedback(self, result: RoundResult) -> list[Feedback]:
        feedback = []
        for report in result.reports:
            exam = report.exams["feedback"]
            feedback.append(
                Feedback(
                    student=report.student,
                    lesson=result.lessons[report.student],
                    scores=dict(exam.scores),  # the average perplexity, or whatever the exam reports
                    item_perplexities=list(exam.item_perplexities) if exam.item_perplexities else None,
                    round=result.round,
                )
            )
        return feedback
