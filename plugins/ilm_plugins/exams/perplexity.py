"""Perplexity exam: exp(total NLL / total tokens), the end-of-sentence token counted."""

from __future__ import annotations

import random
from typing import TypeVar

from ilm_core import ConfigError, Exam, ExamResult, TrainedStudents
from ilm_plugins.exams import PerplexityParams
from ilm_plugins.exams.scoring import score_items

T = TypeVar("T")


def length_label(sentence: list[int], bounds: list[int]) -> str:
    """The length bucket of a sentence, e.g. 'length 6-10' for bounds [5, 10, 20]."""
    low = 1
    for high in bounds:
        if len(sentence) <= high:
            return f"length {low:02d}-{high:02d}"
        low = high + 1
    return f"length {low:02d}+"


def draw(items: list[T], size: int, seed: int, what: str) -> list[T]:
    """A seeded draw of `size` items (a fresh exam)."""
    if size > len(items):
        raise ConfigError(f"exam.fresh_size = {size} is larger than the {what}")
    return random.Random(seed).sample(items, size)


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
        return draw(bank, self.params.fresh_size or len(exam), seed, f"exam bank ({len(bank)} sentences)")

    def labels(self, items: list[list[int]]) -> list[str] | None:
        if self.params.components == "length":
            return [length_label(s, self.params.length_bounds) for s in items]
        return None

    def score(
        self, students: TrainedStudents, sentences: list[list[int]], labels: list[str] | None = None
    ) -> list[ExamResult]:
        return score_items(students, sentences, labels)
