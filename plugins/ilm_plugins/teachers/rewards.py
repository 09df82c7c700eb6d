"""Feedback scores (exam perplexities) as rewards: one definition for the learned teachers."""

from __future__ import annotations

from typing import Literal

import torch

from ilm_core import Feedback


def rewards(feedback: list[Feedback], kind: Literal["neg_perplexity", "neg_log_perplexity"]) -> torch.Tensor:
    """Float64 rewards, one per student: minus the perplexity, or minus its log (heavy tails tamed)."""
    scores = torch.tensor([f.score for f in feedback], dtype=torch.float64)
    if kind == "neg_log_perplexity":
        return -torch.log(scores.clamp_min(1e-12))
    return -scores
