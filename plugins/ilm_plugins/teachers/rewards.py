"""Feedback scores as rewards: one definition for the learned teachers.

`exam` (the default) is the reward the core derived from the exam's headline score
(`Feedback.reward`: minus the log of a perplexity, an accuracy itself), so a teacher works on any
exam; `neg_perplexity` and `neg_log_perplexity` read the average exam perplexity; `accuracy` the
minimal-pair accuracy (exam `minimal-pairs`); `component_mean` the exam's component scores,
each component counting the same whatever its size (its accuracy, or minus its log-perplexity),
so a teacher is paid as much for a rare phenomenon or a short sentence as for a common one.
"""

from __future__ import annotations

import math

import torch

from ilm_core import ConfigError, Feedback
from ilm_plugins.teachers import RewardKind


def rewards(feedback: list[Feedback], kind: RewardKind) -> torch.Tensor:
    """Float64 rewards, one per student."""
    if kind == "exam":
        return torch.tensor([reward_of(f) for f in feedback], dtype=torch.float64)
    if kind == "accuracy":
        if any(f.accuracy is None for f in feedback):
            raise ConfigError(
                "teacher.reward = 'accuracy' needs minimal-pair accuracy in the feedback: use --exam minimal-pairs "
                "(with exam.feedback_on = pairs), or another reward"
            )
        return torch.tensor([f.accuracy for f in feedback], dtype=torch.float64)
    if kind == "component_mean":
        if any(not f.components for f in feedback):
            raise ConfigError(
                "teacher.reward = 'component_mean' needs component scores in the feedback: use --exam minimal-pairs, "
                "or --exam perplexity with exam.components = length"
            )
        return torch.tensor([component_mean(f) for f in feedback], dtype=torch.float64)
    if any(f.perplexity is None for f in feedback):
        raise ConfigError(
            f"teacher.reward = '{kind}' needs a perplexity in the feedback, but the exam reports "
            f"{', '.join(feedback[0].scores)}: use teacher.reward = 'exam' (the exam's own reward)"
        )
    scores = torch.tensor([f.perplexity for f in feedback], dtype=torch.float64)
    if kind == "neg_log_perplexity":
        return -torch.log(scores.clamp_min(1e-12))
    return -scores


def component_mean(feedback: Feedback) -> float:
    """The unweighted mean over components: accuracies for pair exams, else minus log-perplexities."""
    parts = (feedback.components or {}).values()
    if feedback.accuracy is not None:
        return sum(parts) / len(parts)
    return -sum(math.log(max(p, 1e-12)) for p in parts) / len(parts)


def reward_of(feedback: Feedback) -> float:
    """One feedback's reward as the core derived it from the exam's headline score (`Feedback.reward`).

    Feedback made without validation (`Feedback.model_construct`, by a caller outside the loop) may
    lack it: its perplexity then gives it, as validation would have (and a non-finite one stays so)."""
    if feedback.reward is not None:
        return feedback.reward
    if feedback.perplexity is not None:
        return -math.log(max(feedback.perplexity, 1e-12))
    raise ConfigError(
        f"feedback for student {feedback.student} has no reward: the direction of its headline score is not "
        "known to the core (an exam declares the direction of its own scores in its ExamSpec.scores)"
    )
