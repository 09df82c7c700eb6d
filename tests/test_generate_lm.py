"""The generate-lm teacher: what it samples is a valid lesson, it learns to write what the
feedback rewards, its KL penalty holds it near its pretrained LM, and it resumes exactly."""

from __future__ import annotations

import pytest
import torch

from ilm_core import Feedback, RoundContext, TeacherContext, set_up
from ilm_plugins.environments import DomainsParams
from ilm_plugins.environments.languages import DomainsEnvironment
from ilm_plugins.teachers import GenerateLMParams
from ilm_plugins.teachers.generate_lm import GenerateLMTeacher, sample_sentences

STUDENTS, BUDGET = 8, 5


def teacher(**params) -> tuple[GenerateLMTeacher, DomainsEnvironment]:
    env = DomainsEnvironment(DomainsParams(pool_size=20, teacher_corpus_size=40, exam_bank_size=10, heldout_size=5))
    data = env.build(2)
    t = GenerateLMTeacher(GenerateLMParams(lm_updates=60, lm_dim=16, lm_heads=2, **params))
    set_up(t, TeacherContext.of(data, budget=BUDGET, n_students=STUDENTS, seed=5))
    return t, env


def v1_share(lessons, env) -> float:
    sentences = [s for lesson in lessons for s in lesson.sentences]
    return sum(env.label(s) for s in sentences) / len(sentences)


def feedback_rewarding_v1(lessons, env) -> list[Feedback]:
    """A stand-in for the students: a lesson's perplexity falls with its share of V1 sentences."""
    return [
        Feedback(student=lesson.student, lesson=lesson, perplexity=20.0 - 10.0 * v1_share([lesson], env))
        for lesson in lessons
    ]


def test_samples_are_lessons_within_the_environment_bounds():
    t, _ = teacher()
    lessons = t.select(RoundContext.one_round(n_students=STUDENTS, episode=0, size=BUDGET))
    assert len(lessons) == STUDENTS and all(len(lesson.sentences) == BUDGET for lesson in lessons)
    assert all(lesson.indices == [] for lesson in lessons)
    for s in (s for lesson in lessons for s in lesson.sentences):
        assert 1 <= len(s) <= 10 and all(0 <= tok < 20 for tok in s)
    short = sample_sentences(t.lm, 50, 20, 3, torch.Generator().manual_seed(0))
    assert all(1 <= len(s) <= 3 for s in short)


@pytest.mark.slow
def test_learns_to_write_the_rewarded_domain_and_the_kl_holds_it_back():
    shares = {}
    for kl in (0.0, 5.0):
        t, env = teacher(lr=1e-2, kl_coef=kl)
        first = v1_share(t.select(RoundContext.one_round(n_students=STUDENTS, episode=0, size=BUDGET)), env)
        for episode in range(25):
            t.learn(
                feedback_rewarding_v1(
                    t.select(RoundContext.one_round(n_students=STUDENTS, episode=episode, size=BUDGET)), env
                )
            )
        shares[kl] = (
            first,
            sum(
                v1_share(t.select(RoundContext.one_round(n_students=STUDENTS, episode=99, size=BUDGET)), env)
                for _ in range(3)
            )
            / 3,
        )
    first, free = shares[0.0]
    assert free > max(0.85, first + 0.2), shares
    assert shares[5.0][1] < free, shares  # a strong pull to the pretrained LM keeps it nearer 50/50


def test_state_dict_resumes_the_same_lessons():
    t, env = teacher()
    for episode in range(2):
        t.learn(
            feedback_rewarding_v1(
                t.select(RoundContext.one_round(n_students=STUDENTS, episode=episode, size=BUDGET)), env
            )
        )
    state = t.state_dict()
    again, _ = teacher()
    again.load_state_dict(state)
    assert again.select(RoundContext.one_round(n_students=STUDENTS, episode=2, size=BUDGET)) == t.select(
        RoundContext.one_round(n_students=STUDENTS, episode=2, size=BUDGET)
    )
