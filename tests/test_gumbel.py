"""The Gumbel-top-k sampler and the log-probability of its samples (paper, Appendix B)."""

from __future__ import annotations

import itertools
import math
from collections import Counter

import pytest
import torch

from ilm_plugins.teachers.gumbel import gumbel_top_k, plackett_luce_log_prob, sample_log_prob


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


def test_plackett_luce_log_prob_is_a_distribution_over_ordered_samples() -> None:
    scores = torch.tensor([0.3, -1.0, 2.0, 0.0, 0.7])
    total = sum(
        math.exp(float(plackett_luce_log_prob(scores, torch.tensor(order))))
        for order in itertools.permutations(range(5), 3)
    )
    assert total == pytest.approx(1.0, abs=1e-5)
    # the first pick is a softmax; a one-item sample equals the paper's log-softmax
    assert float(plackett_luce_log_prob(scores, torch.tensor([2]))) == pytest.approx(
        float(sample_log_prob(scores, torch.tensor([2])))
    )


def test_plackett_luce_matches_gumbel_top_k_frequencies() -> None:
    scores = torch.tensor([1.5, 0.0, 0.5, -0.5])
    g = torch.Generator().manual_seed(3)
    draws = Counter(tuple(gumbel_top_k(scores, 2, g).tolist()) for _ in range(20_000))
    for order, count in draws.most_common(4):
        expected = math.exp(float(plackett_luce_log_prob(scores, torch.tensor(order))))
        assert count / 20_000 == pytest.approx(expected, abs=0.015), order


def test_plackett_luce_treats_a_dominant_first_pick_as_certain() -> None:
    """An item holding ~all softmax mass is certain to be picked first: the exact log-prob gives it
    no gradient, Eq. 8 (k independent softmax draws) pushes it down by k*p - 1."""
    scores = torch.tensor([12.0, 0.0, 0.0, 0.0, 0.0], requires_grad=True)
    sample = torch.tensor([0, 1])
    plackett_luce_log_prob(scores, sample).backward()
    pl = scores.grad.clone()
    scores.grad = None
    sample_log_prob(scores, sample).backward()
    paper = scores.grad.clone()
    assert pl[1] - pl[2] == pytest.approx(1.0, abs=1e-3)  # picked vs not picked among the rest
    assert paper[1] - paper[2] == pytest.approx(1.0, abs=1e-3)
    assert pl[2] == pytest.approx(-0.25, abs=1e-3) and abs(float(paper[2])) < 1e-3
    assert abs(float(pl[0])) < 1e-3 and paper[0] == pytest.approx(-1.0, abs=1e-3)
