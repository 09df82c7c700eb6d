"""Answer students: every student is told of its own work between rounds.

The budget goes out in `rounds` parts with a mid-term exam after each but the last (the teacher
sees it, as with `mid-term-exams`, and learns from the final exam only). After each round but
the last every student generates `samples` sentences, and is told, with its next lesson, its
mid-term score and the answer to each sentence: the environment's judgement (in the language
or not, where and which rule it breaks), a judging LM's perplexity of it, or nothing
(`answer = "none"`: the student's experiments go unanswered).
"""

from __future__ import annotations

import math
from typing import Any

import torch

from ilm_core import Interaction, Round, RoundResult, StudentFeedback, TeacherContext
from ilm_plugins.interactions import AnswerStudentsParams
from ilm_plugins.interactions.rounds import split
from ilm_plugins.teacher_lm import TeacherLM


def judge_scores(judge: TeacherLM, samples: list[list[int]]) -> list[float]:
    """The judging LM's perplexity of each sentence (lower: more like the teacher's language)."""
    nll, tokens = judge.nll(samples)
    return [math.exp(n / t) for n, t in zip(nll, tokens, strict=True)]


class AnswerStudents(Interaction):
    def __init__(self, params: AnswerStudentsParams):
        self.params = params
        self.judge: TeacherLM | None = None

    def setup(self, context: TeacherContext) -> None:
        p = self.params
        if p.answer != "teacher-lm" or not p.samples:
            return
        self.judge = TeacherLM(len(context.vocabulary), layers=p.judge_layers, dim=p.judge_dim, seed=context.seed)
        with torch.random.fork_rng():  # the run's RNG stream stays the same as without a judge
            with context.tools.steps.step("pretraining the judging LM", total=p.judge_updates) as advance:
                self.judge.pretrain(context.teacher_corpus, updates=p.judge_updates, on_update=lambda step: advance())

    def plan(self, budget: int, n_students: int) -> list[Round]:
        p = self.params
        sizes = split(budget, p.rounds)
        between = Round(size=1, exam="mid-term", reward=False, probe=p.samples)
        return [
            Round(size=s, exam="final") if k == len(sizes) - 1 else between.model_copy(update={"size": s})
            for k, s in enumerate(sizes)
        ]

    def student_feedback(self, result: RoundResult) -> list[StudentFeedback | None]:
        told: list[StudentFeedback | None] = []
        for r in result.reports:
            exam = r.exams.get("feedback")
            answer: dict[str, Any] = {}
            if r.samples and self.params.answer == "environment" and result.judgements:
                judged = result.judgements[r.student]
                if all(j is not None for j in judged):
                    answer["judgements"] = judged
            elif r.samples and self.params.answer == "teacher-lm" and self.judge is not None:
                answer["sample_scores"] = judge_scores(self.judge, r.samples)
            told.append(
                StudentFeedback(
                    round=result.round,
                    scores=dict(exam.scores) if exam else {},
                    item_perplexities=list(exam.item_perplexities) if exam and exam.item_perplexities else None,
                    samples=list(r.samples),
                    **answer,
                )
            )
        return told
