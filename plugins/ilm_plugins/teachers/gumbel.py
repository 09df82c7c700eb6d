"""Sampling k items without replacement (Gumbel-top-k) and the sample's log-probability."""

from __future__ import annotations

import torch


def gumbel_top_k(scores: torch.Tensor, k: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Indices of k distinct items, sampled without replacement with probabilities softmax(scores).

    Adding independent Gumbel(0, 1) noise to the scores and taking the top k draws an ordered
    sample without replacement from the softmax distribution (Vieira 2014; Kool et al. 2019).
    """
    if not 1 <= k <= scores.numel():
        raise ValueError(f"k = {k} must be between 1 and the number of items ({scores.numel()})")
    uniform = torch.rand(scores.shape, generator=generator, dtype=scores.dtype, device=scores.device)
    uniform = uniform.clamp(1e-20, 1.0 - 1e-7)
    gumbel = -torch.log(-torch.log(uniform))
    return torch.topk(scores.detach() + gumbel, k).indices


def sample_log_prob(scores: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
    """log p of the sample as the sum of the selected items' log-softmax (paper, Appendix B, Eq. 8)."""
    return torch.log_softmax(scores, dim=-1)[..., indices].sum(-1)


def plackett_luce_log_prob(scores: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
    """Exact log p of the ordered sample `indices` (in pick order) drawn by Gumbel-top-k.

    Each pick is a softmax over the items not picked yet (Plackett-Luce; Kool et al. 2019). The
    paper's sum of log-softmax (`sample_log_prob`) scores the k picks as independent draws from
    one softmax, as if an item of probability p were drawn k*p times: for an item that is
    always picked first, its gradient says "less" where the exact one says "already certain".
    """
    k = indices.numel()
    picked_before = torch.zeros(k, scores.numel(), dtype=torch.bool, device=scores.device)
    if k > 1:
        rows = torch.arange(1, k, device=scores.device).repeat_interleave(torch.arange(1, k, device=scores.device))
        cols = torch.cat([indices[:t] for t in range(1, k)])
        picked_before[rows, cols] = True
    normalisers = scores.expand(k, -1).masked_fill(picked_before, float("-inf")).logsumexp(-1)
    return (scores[indices] - normalisers).sum()
