"""Perplexity exam: exp(total NLL / total tokens), the end-of-sentence token counted."""

from __future__ import annotations

import math
import random

from ilm_core import ConfigError, Exam, ExamResult, TrainedStudents
from ilm_plugins.exams import PerplexityParams


def _exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


class PerplexityExam(Exam):
    def __init__(self, params: PerplexityParams):
        self.params = params

    def feedback_items(self, exam: list[list[int]], bank: list[list[int]], episode: int, seed: int) -> list[list[int]]:
        policy = self.params.feedback
        if policy == "fixed":
            return exam
        if not bank:
            raise ConfigError(
                f"exam.feedback = '{policy}' needs an exam bank, but the environment built none; "
                "set the environment's exam_bank_size above 0 or use exam.feedback=fixed"
            )
        if policy == "bank":
            return bank
        size = self.params.fresh_size or len(exam)
        if size > len(bank):
            raise ConfigError(f"exam.fresh_size = {size} is larger than the exam bank ({len(bank)} sentences)")
        return random.Random(seed).sample(bank, size)

    def score(self, students: TrainedStudents, sentences: list[list[int]]) -> list[ExamResult]:
        nll, ntokens = students.sentence_nll(sentences)
        total = sum(ntokens)
        results = []
        for row in nll:
            results.append(
                ExamResult(
                    perplexity=_exp(sum(row) / total),
                    item_perplexities=[_exp(v / n) for v, n in zip(row, ntokens, strict=True)],
                    nll=sum(row),
                    tokens=total,
                )
            )
        return results
