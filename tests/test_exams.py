"""Feedback-exam policies and the perplexity exam."""

from __future__ import annotations

import math

import pytest

from ilm_core import ConfigError, TrainedStudents
from ilm_plugins.exams import PerplexityParams
from ilm_plugins.exams.perplexity import PerplexityExam

EXAM = [[1, 2], [3, 4]]
BANK = [[i, i + 1, i + 2] for i in range(30)]


def test_fixed_is_the_environment_exam_every_episode():
    exam = PerplexityExam(PerplexityParams(feedback="fixed"))
    assert all(exam.feedback_items(EXAM, BANK, e, seed=e) == EXAM for e in range(5))


def test_fresh_draws_differ_across_episodes_and_repeat_for_the_same_seed():
    exam = PerplexityExam(PerplexityParams(feedback="fresh"))
    draws = [exam.feedback_items(EXAM, BANK, e, seed=100 + e) for e in range(6)]
    assert all(len(d) == len(EXAM) and all(s in BANK for s in d) for d in draws)
    assert len({tuple(map(tuple, d)) for d in draws}) > 1
    assert draws == [exam.feedback_items(EXAM, BANK, e, seed=100 + e) for e in range(6)]
    sized = PerplexityExam(PerplexityParams(feedback="fresh", fresh_size=7))
    assert len(sized.feedback_items(EXAM, BANK, 0, seed=1)) == 7


def test_bank_is_the_whole_bank_and_a_missing_bank_is_a_clear_error():
    assert PerplexityExam(PerplexityParams(feedback="bank")).feedback_items(EXAM, BANK, 0, 0) == BANK
    with pytest.raises(ConfigError, match="exam bank"):
        PerplexityExam(PerplexityParams(feedback="fresh")).feedback_items(EXAM, [], 0, 0)


class FixedNLL(TrainedStudents):
    @property
    def final_losses(self):
        return [0.0, 0.0]

    def sentence_nll(self, sentences):
        return [[math.log(4) * 3, math.log(4) * 3], [math.log(2) * 3, math.log(8) * 3]], [3, 3]


def test_perplexity_is_per_token_with_end_of_sentence_counted():
    results = PerplexityExam(PerplexityParams()).score(FixedNLL(), [[0, 1], [1, 0]])
    assert results[0].perplexity == pytest.approx(4.0)
    assert results[0].item_perplexities == pytest.approx([4.0, 4.0])
    assert results[1].item_perplexities == pytest.approx([2.0, 8.0])
    assert results[1].perplexity == pytest.approx(4.0)  # exp of the mean NLL over all 6 tokens
    assert results[1].tokens == 6
