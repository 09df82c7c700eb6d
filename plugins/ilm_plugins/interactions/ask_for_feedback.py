"""Ask for feedback: students generate sentences, the teacher's language model judges them.

The teacher's side pretrains its own LM on the teacher corpus (what a teacher knows of the
language; never the exams). After the lesson each student samples `samples` sentences, and the
feedback score is their perplexity under that LM: how much the student's own language sounds
like the teacher's. The exam still runs, for the metrics, but never reaches the teacher.
Each student is told the judge's score of each of its sentences (`student_feedback`): with
students kept for the run (`student_lifetime = "run"`) it hears them with its next lesson, in the
next episode; students made afresh each episode never do.
"""

from __future__ import annotations

import torch

from ilm_core import Feedback, Interaction, Round, RoundResult, StudentFeedback, TeacherContext
from ilm_plugins.interactions import AskForFeedbackParams
from ilm_plugins.teacher_lm import TeacherLM


class AskForFeedback(Interaction):
    def __init__(self, params: AskForFeedbackParams):
        self.params = params

    def setup(self, context: TeacherContext) -> None:
        p = self.params
        self.judge = TeacherLM(len(context.vocabulary), layers=p.judge_layers, dim=p.judge_dim, seed=context.seed)
        with torch.random.fork_rng():  # the run's RNG stream stays the same as without a judge
            with context.tools.steps.step("pretraining the judging LM", total=p.judge_updates) as advance:
                self.judge.pretrain(
                    context.teacher_corpus,
                    updates=p.judge_updates,
                    lr=p.judge_lr,
                    batch_size=p.judge_batch_size,
                    on_update=lambda step: advance(),
                )

    def plan(self, budget: int, n_students: int) -> list[Round]:
        return [Round(size=budget, exam="final", reward=True, probe=self.params.samples)]

    def judge_score(self, samples: list[list[int]]) -> float:
        """Perplexity of the sentences under the teacher's LM (lower: more like the teacher's language)."""
        return self.judge.perplexity(samples)

    def feedback(self, result: RoundResult) -> list[Feedback]:
        return [
            Feedback(
                student=r.student,
                lesson=result.lessons[r.student],
                perplexity=self.judge_score(r.samples),
                round=result.round,
            )
            for r in result.reports
        ]

    def student_feedback(self, result: RoundResult) -> list[StudentFeedback | None]:
        from ilm_plugins.interactions.answer_students import judge_scores

        return [
            StudentFeedback(
                round=result.round, samples=list(r.samples), sample_scores=judge_scores(self.judge, r.samples)
            )
            if r.samples
            else None
            for r in result.reports
        ]
