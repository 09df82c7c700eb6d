"""Feedback as the core makes it of what an interaction returns: checked, with each reward computed
here, once, from a headline score and the direction the core knows or the exam declares (so that no
plugin can get a reward's sign wrong); and what a teacher is shown of it under each `teacher_feedback`
setting, with the per-sentence results it asked for."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any, NoReturn

from ilm_core.errors import PluginError
from ilm_core.messages import Direction, Feedback, Lesson, StudentFeedback, StudentReport, reward_of

#: what `teacher_feedback = "shuffled"` moves from one student's feedback to another's
SCORES = ("scores", "reward", "perplexity", "item_perplexities", "accuracy", "components")


def shuffled(feedback: list[Feedback], seed: int) -> list[Feedback]:
    """Each student's feedback with another student's scores (a seeded derangement), its own lesson
    kept; per-sentence losses and placement results, which belong to its own lesson, removed."""
    order = list(range(len(feedback)))
    rng = random.Random(seed)
    while len(order) > 1 and any(i == j for i, j in enumerate(order)):
        rng.shuffle(order)
    return [
        f.model_copy(update={**{k: getattr(feedback[j], k) for k in SCORES}, "sentence_losses": {}, "placement": {}})
        for f, j in zip(feedback, order, strict=True)
    ]


def rewards_only(feedback: list[Feedback]) -> list[Feedback]:
    """Feedback without its item and component scores, sentence losses and placement results: what a
    teacher learns from when feedback is withheld."""
    cleared: dict[str, Any] = {"item_perplexities": None, "components": None, "sentence_losses": {}, "placement": {}}
    return [f.model_copy(update=cleared) for f in feedback]


def with_losses(
    feedback: list[Feedback], reports: list[StudentReport], lessons: list[Lesson], tested: list[int]
) -> list[Feedback]:
    """The students' own losses added to the interaction's feedback: on each pool sentence of this round's
    lesson (before and after training) and on the placement test."""
    by_student = {r.student: r for r in reports}
    out = []
    for f in feedback:
        r = by_student.get(f.student)
        if r is None:
            out.append(f)
            continue
        indices = lessons[f.student].indices  # the lesson's pool sentences come first
        out.append(
            f.model_copy(
                update={
                    "sentence_losses": dict(zip(indices, r.sentence_losses, strict=False)),
                    "placement": dict(zip(tested, r.placement, strict=False)),
                }
            )
        )
    return out


@dataclass(frozen=True)
class Rewards:
    """The run's score directions, and the exam and interaction plugins an error names."""

    directions: dict[str, Direction]
    exam: str
    interaction: str

    def direction(self, name: str, where: str) -> Direction:
        """Which way score `name` is better; a PluginError naming the exam when neither the core nor it says."""
        if name not in self.directions:
            raise PluginError(
                f"{where} has a score {name!r} whose direction is unknown (known: "
                f"{', '.join(sorted(self.directions))}); exam plugin '{self.exam}' declares the direction of each "
                f"score it reports beyond perplexity and accuracy in its ExamSpec "
                f"(scores={{{name!r}: Direction.LOWER or Direction.HIGHER}})",
                plugin=self.exam,
                stage="score",
            )
        return self.directions[name]

    def _reward(self, head: str, value: float, where: str) -> float:
        return reward_of(head, value, self.direction(head, where))

    def _refuse(self, problem: str, stage: str) -> NoReturn:
        raise PluginError(f"interaction plugin '{self.interaction}' {problem}", plugin=self.interaction, stage=stage)

    def feedback(self, feedback: list[Feedback], k: int) -> list[Feedback]:
        """The interaction's feedback of round k, checked, each with the reward its headline score gives."""
        if not isinstance(feedback, list) or not all(isinstance(f, Feedback) for f in feedback):
            self._refuse(f"built feedback for round {k} that is not a list of ilm_core.Feedback", "feedback")
        where = f"feedback of interaction plugin '{self.interaction}'"
        return [
            f.model_copy(update={"reward": self._reward(f.headline, f.scores[f.headline], where)}) for f in feedback
        ]

    def student_feedback(self, told: list[StudentFeedback | None] | None, n: int) -> list[StudentFeedback | None]:
        """What the interaction tells each of the n students (None: nothing), checked, each entry with the
        reward its headline score gives (as a teacher's feedback; none for a non-finite score)."""
        if told is None:
            return []
        if (
            not isinstance(told, list)
            or len(told) != n
            or not all(t is None or isinstance(t, StudentFeedback) for t in told)
        ):
            self._refuse(
                "returned from student_feedback() something other than one ilm_core.StudentFeedback (or None) "
                f"for each of the {n} students",
                "student_feedback",
            )
        where = f"student feedback of interaction plugin '{self.interaction}'"
        out: list[StudentFeedback | None] = []
        for t in told:
            head = next(iter(t.scores), None) if t is not None else None
            if t is not None and head is not None and math.isfinite(t.scores[head]):
                t = t.model_copy(update={"reward": self._reward(head, t.scores[head], where)})
            out.append(t)
        return out
