"""The `per-item-bandit` teacher: one value per pool sentence, credited by per-item scores.

An average perplexity is dominated by the items that are hardest for everyone. Per-item
scores let the teacher compare students item by item: on each exam item, a student's
log-perplexity is standardised across the students of the episode, and the student's
advantage is the mean over items of how much better than its peers it did. Every sentence of
its lesson moves by that advantage. Lessons are sampled without replacement from
softmax(values / temperature) by Gumbel-top-k. With average-only feedback (another
interaction, or an exam without perplexity) it falls back to the standardised reward the core
derives from the exam's headline score (`Feedback.reward`).
"""

from __future__ import annotations

import math
import random
from typing import Any

from ilm_core import Feedback, Lesson, RoundContext, SentencePreferences, Teacher, TeacherContext, TeacherUpdate
from ilm_example_peritem import PerItemBanditParams


class PerItemBandit(Teacher):
    def __init__(self, params: PerItemBanditParams):
        self.params = params

    def setup(self, context: TeacherContext) -> None:
        self.rng = random.Random(context.seed)
        self.values = [0.0] * len(context.pool)

    def select(self, context: RoundContext) -> list[Lesson]:
        k = min(context.size, len(self.values))
        return [Lesson(student=i, indices=self._sample(k)) for i in range(context.n_students)]

    def _sample(self, k: int) -> list[int]:
        keys = [v / self.params.temperature - math.log(-math.log(self.rng.random() or 1e-300)) for v in self.values]
        return sorted(range(len(keys)), key=keys.__getitem__, reverse=True)[:k]

    def advantages(self, feedback: list[Feedback]) -> list[float]:
        """How much better than the episode's other students each student did, item by item."""
        if all(f.item_perplexities for f in feedback) and len({len(f.item_perplexities or ()) for f in feedback}) == 1:
            rows = [[_log(x) for x in f.item_perplexities or ()] for f in feedback]
        else:
            # minus the exam's reward (higher is better): its log perplexity on a perplexity exam, any exam works
            rows = [[-(f.reward if f.reward is not None else 0.0)] for f in feedback]
        columns = list(zip(*rows, strict=True))
        stats = [(sum(c) / len(c), max(_std(c), self.params.min_std)) for c in columns]
        return [sum((mean - x) / std for x, (mean, std) in zip(row, stats, strict=True)) / len(row) for row in rows]

    def learn(self, feedback: list[Feedback]) -> TeacherUpdate:
        advantages = self.advantages(feedback)
        for f, advantage in zip(feedback, advantages, strict=True):
            for index in f.lesson.indices:
                self.values[index] += self.params.lr * advantage
        return TeacherUpdate(stats={"entropy": self._entropy(), "value_spread": max(self.values) - min(self.values)})

    def _entropy(self) -> float:
        logits = [v / self.params.temperature for v in self.values]
        top = max(logits)
        weights = [math.exp(x - top) for x in logits]
        total = sum(weights)
        return -sum(w / total * math.log(w / total) for w in weights if w > 0)

    def preferences(self) -> SentencePreferences:
        return SentencePreferences(values=list(self.values), meaning="learned value (lessons drawn by softmax)")

    def state_dict(self) -> dict[str, Any]:
        return {"values": list(self.values), "rng": self.rng.getstate()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.values = list(state["values"])
        self.rng.setstate(state["rng"])


def _log(x: float) -> float:
    return math.log(min(max(x, 1e-12), 1e300))  # an infinite perplexity is just very bad


def _std(column: tuple[float, ...]) -> float:
    mean = sum(column) / len(column)
    return math.sqrt(sum((x - mean) ** 2 for x in column) / len(column))
