"""Students that learn from what they are told: `learn-from-answers` and `trust-teachers`.

Both are the native stacked student (they persist like it) with the "uses-feedback" capability:
before each round's training the executor hands them what the interaction said of their last
round (`StudentGroup.receive`).

- `learn-from-answers` generates sentences when asked (an experiment) and learns from the
  answer: it trains on the sentences the environment accepted, with its lesson, and pushes down
  the token at which each rejected sentence left the language (unlikelihood). Told a judging
  LM's scores instead, it takes its best-scored share as accepted and the rest as rejected
  (unlikelihood on all their tokens). Unanswered sentences, or none, leave it a plain student.
- `trust-teachers` is taught by several teachers (`Lesson.teacher`, e.g. `take-turns` with
  `turns = "rounds"`) and learns whom to trust: after each round it credits the change of its
  own exam perplexity (in log) to the teacher of that round, and keeps a share
  `exp(sharpness * (mean credit - best mean credit))` of each new lesson's update (its weights
  move that share of the way the lesson took them). `trust = "equal"` keeps every share at 1:
  the plain student, the ablation.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import torch

from ilm_core import StudentFeedback
from ilm_plugins.students import LearnFromAnswersParams, TrustTeachersParams
from ilm_plugins.students.transformer_lm import ExperimentStudent, StackedStudents, TransformerLMStudent
from ilm_plugins.torchlm.train import unlikelihood_loss


class AnsweredStudents(StackedStudents):
    """Keeps, per student, the sentences it was told were right and those it was told were wrong
    (with where they went wrong) and learns from them in its next training."""

    def __init__(self, *args: Any, params: LearnFromAnswersParams, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.params = params
        n = self.model.n_students
        self.accepted: list[list[list[int]]] = [[] for _ in range(n)]
        self.rejected: list[list[tuple[list[int], int | None]]] = [[] for _ in range(n)]

    def receive(self, feedback: list[StudentFeedback | None], teachers: list[str | None]) -> None:
        p = self.params
        self.accepted = [[] for _ in self.accepted]
        self.rejected = [[] for _ in self.rejected]
        for s, told in enumerate(feedback):
            if told is None:
                continue
            if told.judgements is not None:
                for sentence, judged in zip(told.samples, told.judgements, strict=True):
                    if judged.in_language:
                        self.accepted[s].append(list(sentence))
                    else:
                        self.rejected[s].append((list(sentence), judged.position))
            elif told.sample_scores is not None and told.samples:
                sample_scores: list[float] = told.sample_scores
                order = sorted(range(len(told.samples)), key=lambda j: (sample_scores[j], j))
                keep = max(1, round(p.judged_share * len(order)))
                self.accepted[s] += [list(told.samples[j]) for j in order[:keep]]
                self.rejected[s] += [(list(told.samples[j]), None) for j in order[keep:]]

    def train(self, lessons: list[list[list[int]]]) -> None:
        p = self.params
        extended = [
            lesson + (accepted if p.learn_accepted else [])
            for lesson, accepted in zip(lessons, self.accepted, strict=True)
        ]
        extra = None
        if p.unlikelihood > 0 and any(self.rejected):
            wrong = [[sentence for sentence, _ in r] for r in self.rejected]
            where = [[at for _, at in r] for r in self.rejected]

            def extra() -> torch.Tensor:
                return p.unlikelihood * unlikelihood_loss(self.model, wrong, where, self.vocab_size, self.device)

        self.losses = self.trainer.train(extended, self.vocab_size, self.device, extra=extra)
        self._stats = [
            {"answers_accepted": float(len(a)), "answers_rejected": float(len(r))}
            for a, r in zip(self.accepted, self.rejected, strict=True)
        ]
        self.accepted = [[] for _ in self.accepted]  # each answer is learned from once
        self.rejected = [[] for _ in self.rejected]

    def stats(self) -> list[dict[str, float]]:
        return getattr(self, "_stats", None) or super().stats()


class TrustingStudents(StackedStudents):
    """Credits each teacher with the change of the student's own exam score after its lessons and
    keeps, of each new lesson's update, a share that grows with the trust in its teacher."""

    def __init__(self, *args: Any, params: TrustTeachersParams, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.params = params
        n = self.model.n_students
        #: per student: teacher -> the changes of log-perplexity credited to it (positive: it improved)
        self.credit: list[dict[str, list[float]]] = [defaultdict(list) for _ in range(n)]
        self.last_teacher: list[str | None] = [None] * n
        self.last_score: list[float | None] = [None] * n
        self.teachers: list[str | None] = [None] * n

    def receive(self, feedback: list[StudentFeedback | None], teachers: list[str | None]) -> None:
        for s, told in enumerate(feedback):
            if told is None or told.reward is None or not math.isfinite(told.reward):
                continue
            score = -told.reward  # minus the exam's reward: its log perplexity on a perplexity exam
            last_score, last_teacher = self.last_score[s], self.last_teacher[s]
            if last_score is not None and last_teacher is not None:
                self.credit[s][last_teacher].append(last_score - score)
            self.last_score[s] = score
        self.teachers = list(teachers) if teachers else [None] * len(self.teachers)

    def share(self, s: int, teacher: str | None) -> float:
        """The share of a lesson's update student s keeps from `teacher` (1: all of it)."""
        means = {t: sum(c) / len(c) for t, c in self.credit[s].items() if c}
        if self.params.trust == "equal" or teacher is None or not means:
            return 1.0
        means.setdefault(teacher, 0.0)  # a teacher not yet credited is trusted like one that changes nothing
        return math.exp(self.params.sharpness * (means[teacher] - max(means.values())))

    def train(self, lessons: list[list[list[int]]]) -> None:
        shares = [self.share(s, t) for s, t in enumerate(self.teachers)]
        before = [t.detach().clone() for t in self.trainer.params]
        super().train(lessons)
        with torch.no_grad():
            for s, keep in enumerate(shares):
                if keep < 1.0:
                    for old, t in zip(before, self.trainer.params, strict=True):
                        t[s].copy_(old[s] + keep * (t[s] - old[s]))
        for s, teacher in enumerate(self.teachers):
            if teacher is not None:
                self.last_teacher[s] = teacher
        self._stats = [{"trust_share": keep} for keep in shares]
        self.teachers = [None] * len(self.teachers)

    def stats(self) -> list[dict[str, float]]:
        return getattr(self, "_stats", None) or super().stats()

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["trust"] = {
            "credit": [dict(c) for c in self.credit],
            "last_teacher": list(self.last_teacher),
            "last_score": list(self.last_score),
        }
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        saved = state.get("trust", {})
        self.credit = [defaultdict(list, c) for c in saved.get("credit", self.credit)]
        self.last_teacher = list(saved.get("last_teacher", self.last_teacher))
        self.last_score = list(saved.get("last_score", self.last_score))


class LearnFromAnswersStudent(ExperimentStudent):
    params: LearnFromAnswersParams

    group = AnsweredStudents

    def group_options(self) -> dict[str, Any]:
        return {**super().group_options(), "params": self.params}


class TrustTeachersStudent(TransformerLMStudent):
    params: TrustTeachersParams

    group = TrustingStudents

    def group_options(self) -> dict[str, Any]:
        return {"params": self.params}
