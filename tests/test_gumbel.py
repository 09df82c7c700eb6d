"""The Gumbel-top-k sampler and the log-probability of its samples (paper, Appendix B)."""

from __future__ import annotations

import math

import pytest
import torch

from ilm_plugins.teachers.gumbel import gumbel_top_k, sample_log_prob


def test_exactly_k_distinct_items_in_range():
    gen = torch.Generator().manual_seed(0)
    scores = torch.randn(30)
    for k in (1, 5, 30):
        for _ in range(50):
            idx = gumbel_top_k(scores, k, gen)
            assert len(idx) == k
            assert len(set(idx.tolist())) == k
            assert all(0 <= i < 30 for i in idx.tolist())


def test_rejects_k_outside_range():
    with pytest.raises(ValueError, match="k = 11"):
        gumbel_top_k(torch.zeros(10), 11)


def test_first_pick_frequency_follows_softmax():
    gen = torch.Generator().manual_seed(1)
    scores = torch.tensor([2.0, 1.0, 0.0, -1.0])
    counts = torch.zeros(4)
    n = 20000
    for _ in range(n):
        counts[gumbel_top_k(scores, 1, gen)[0]] += 1
    expected = torch.softmax(scores, 0)
    assert torch.allclose(counts / n, expected, atol=0.015)


def test_inclusion_frequency_is_ordered_by_score():
    gen = torch.Generator().manual_seed(2)
    scores = torch.linspace(-2, 2, 8)
    counts = torch.zeros(8)
    for _ in range(5000):
        counts[gumbel_top_k(scores, 3, gen)] += 1
    assert torch.all(counts[1:] >= counts[:-1] - 100)  # monotone up to noise
    assert counts[-1] > 2 * counts[0]


def test_log_prob_is_sum_of_log_softmax():
    scores = torch.tensor([0.5, -1.0, 2.0, 0.0], requires_grad=True)
    idx = torch.tensor([2, 0])
    lp = sample_log_prob(scores, idx)
    probs = torch.softmax(scores.detach(), 0)
    assert math.isclose(float(lp.detach()), math.log(probs[2]) + math.log(probs[0]), rel_tol=1e-6)
    lp.backward()
    assert scores.grad is not None and scores.grad.abs().sum() > 0
