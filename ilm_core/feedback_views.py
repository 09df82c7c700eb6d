"""What a teacher is shown of its students' feedback under each `teacher_feedback` setting, and
the per-sentence results added to it when the teacher asked for them."""

from __future__ import annotations

import random
from typing import Any

from ilm_core.messages import Feedback, Lesson, StudentReport

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
