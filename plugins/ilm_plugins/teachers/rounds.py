"""What every teacher that draws from the pool needs in rounds: leave out what a student already got."""

from __future__ import annotations

import torch

from ilm_core import RoundContext


def unsent_scores(scores: torch.Tensor, context: RoundContext, student: int) -> torch.Tensor:
    """`scores` with the pool sentences `student` received earlier in the episode at -inf (so a
    top-k draw never picks them); unchanged in the first round or when the round allows repeats."""
    sent = context.sent[student]
    if context.repeats or not sent:
        return scores
    masked = scores.clone()
    masked[torch.tensor(sent, dtype=torch.long)] = -torch.inf
    return masked
