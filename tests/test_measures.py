"""n-gram overlap (Appendix C) on hand-made cases."""

from __future__ import annotations

import pytest

from ilm_plugins.measures.ngram import ngram_overlap, overlaps


def test_unigram_overlap_counts_taught_tokens_from_the_exam():
    exam = [[0, 1, 2]]
    assert ngram_overlap([[0, 1, 5, 6]], exam, 1) == pytest.approx(0.5)
    assert ngram_overlap([[0, 0, 0]], exam, 1) == 1.0
    assert ngram_overlap([[7, 8]], exam, 1) == 0.0


def test_bigram_and_trigram_overlap():
    exam = [[0, 1, 2, 3]]
    taught = [[0, 1, 2], [2, 1, 0]]  # bigrams: 01 12 | 21 10 -> 2 of 4 in the exam
    assert ngram_overlap(taught, exam, 2) == pytest.approx(0.5)
    assert ngram_overlap(taught, exam, 3) == pytest.approx(0.5)  # 012 yes, 210 no
    assert overlaps(taught, exam)["unigram"] == 1.0


def test_short_sentences_have_no_trigrams():
    assert ngram_overlap([[0, 1]], [[0, 1, 2]], 3) == 0.0
    with pytest.raises(ValueError):
        ngram_overlap([[0]], [[0]], 0)
