"""The lstm-lm student: independent students in one stack, it learns its lesson, it persists."""

from __future__ import annotations

import torch

from ilm_plugins.environments import DomainsParams
from ilm_plugins.environments.languages import DomainsEnvironment
from ilm_plugins.students import LSTMLMParams
from ilm_plugins.students.transformer_lm import LSTMLMStudent


def lessons():
    data = DomainsEnvironment(DomainsParams(pool_size=40, teacher_corpus_size=10)).build(1)
    v1 = [s for s, inside in zip(data.pool, data.pool_in_exam_domain, strict=True) if inside][:10]
    v2 = [s for s, inside in zip(data.pool, data.pool_in_exam_domain, strict=True) if not inside][:10]
    return data, v1, v2


def exam_ppl(group, exam) -> list[float]:
    nll, tokens = group.sentence_nll(exam)
    return [torch.tensor(row).sum().div(sum(tokens)).exp().item() for row in nll]


def test_students_of_a_stack_are_independent_and_learn_their_lesson():
    data, v1, v2 = lessons()
    student = LSTMLMStudent(LSTMLMParams(updates=20))
    stack = student.train([v1, v2, v1], [1, 2, 3], len(data.vocabulary), "cpu")
    alone = student.train([v2], [2], len(data.vocabulary), "cpu")
    together = exam_ppl(stack, data.exam)
    assert abs(together[1] - exam_ppl(alone, data.exam)[0]) < 1e-4 * together[1]
    assert together[0] < together[1] / 2 and together[2] < together[1] / 2  # V1 lessons teach the V1 exam


def test_a_persistent_group_continues_from_its_last_lesson():
    data, v1, v2 = lessons()
    student = LSTMLMStudent(LSTMLMParams(updates=15, dim=32))
    group = student.create([1], len(data.vocabulary), "cpu")
    group.train([v2])
    after_v2 = exam_ppl(group, data.exam)[0]
    group.train([v1])
    again = student.create([1], len(data.vocabulary), "cpu")
    again.load_state_dict(group.state_dict())
    assert exam_ppl(group, data.exam)[0] < after_v2
    assert exam_ppl(again, data.exam) == exam_ppl(group, data.exam)
