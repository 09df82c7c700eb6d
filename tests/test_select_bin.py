"""The select-bin teacher's learning rule on a synthetic bandit: no students, just rewards."""

from __future__ import annotations

import random

import pytest
import torch

from ilm_core import Feedback, RoundContext, TeacherContext, set_up
from ilm_plugins.teachers import SelectBinParams
from ilm_plugins.teachers.select_bin import SelectBinTeacher

GOOD = 12  # pool sentences 0..11 are "exam domain": longer runs of token 0


def _pool() -> list[list[int]]:
    rng = random.Random(0)
    good = [[0] * rng.randint(3, 6) for _ in range(GOOD)]
    bad = [[rng.randint(1, 5) for _ in range(rng.randint(3, 6))] for _ in range(48)]
    return good + bad


def _teacher(**params) -> SelectBinTeacher:
    pool = _pool()
    teacher = SelectBinTeacher(SelectBinParams(lm_updates=30, lm_dim=16, lm_heads=2, **params))
    set_up(
        teacher,
        TeacherContext(
            vocabulary=list("abcdef"),
            teacher_corpus=pool,
            pool=pool,
            budget=5,
            n_students=8,
            seed=7,
        ),
    )
    return teacher


def _episode(teacher: SelectBinTeacher, rng: random.Random, signal: float) -> float:
    lessons = teacher.select(RoundContext.one_round(n_students=8, episode=0, size=5))
    feedback = []
    for lesson in lessons:
        good = sum(i < GOOD for i in lesson.indices) / len(lesson.indices)
        perplexity = 20.0 * (1.0 - 0.5 * signal * good) * (1.0 + 0.1 * rng.random())
        feedback.append(Feedback(student=lesson.student, lesson=lesson, perplexity=perplexity))
    teacher.learn(feedback)
    return sum(i < GOOD for lesson in lessons for i in lesson.indices) / (8 * 5)


@pytest.mark.parametrize("log_prob", ["sum-log-softmax", "plackett-luce"])
def test_select_bin_learns_the_rewarded_sentences(log_prob: str) -> None:
    torch.manual_seed(0)
    teacher = _teacher(lr=0.05, log_prob=log_prob)
    rng = random.Random(1)
    fractions = [_episode(teacher, rng, signal=1.0) for _ in range(60)]
    assert fractions[0] < 0.45  # starts near the pool's 20%
    assert sum(fractions[-10:]) / 10 > 0.8, fractions[-10:]


def test_weight_decay_bounds_the_policy_under_noise() -> None:
    """Pure-noise rewards: without decay the scores drift apart, with decay they stay bounded."""
    spreads = {}
    for decay in (0.0, 1.0):
        teacher = _teacher(lr=0.05, weight_decay=decay)
        rng = random.Random(2)
        for _ in range(80):
            _episode(teacher, rng, signal=0.0)
        with torch.no_grad():
            spreads[decay] = float(teacher.scores().std())
    assert spreads[1.0] < 0.5 * spreads[0.0], spreads


def test_entropy_bonus_decays_per_update_and_resumes() -> None:
    teacher = _teacher(entropy_coef=0.1, entropy_decay=0.5)
    rng = random.Random(3)
    coefs = []
    for _ in range(3):
        lessons = teacher.select(RoundContext.one_round(n_students=8, episode=0, size=5))
        feedback = [Feedback(student=x.student, lesson=x, perplexity=10.0 + rng.random()) for x in lessons]
        coefs.append(teacher.learn(feedback).stats["entropy_coef"])
    assert coefs == pytest.approx([0.1, 0.05, 0.025])
    resumed = _teacher(entropy_coef=0.1, entropy_decay=0.5)
    resumed.load_state_dict(teacher.state_dict())
    lessons = resumed.select(RoundContext.one_round(n_students=8, episode=0, size=5))
    feedback = [Feedback(student=x.student, lesson=x, perplexity=10.0) for x in lessons]
    assert resumed.learn(feedback).stats["entropy_coef"] == pytest.approx(0.0125)
