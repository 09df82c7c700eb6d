"""Measures of what a teacher sent: n-gram overlap with the exam and the exam-domain fraction."""

from __future__ import annotations

from collections.abc import Sequence

Sentence = Sequence[int]


def ngrams(sentence: Sentence, n: int) -> list[tuple[int, ...]]:
    return [tuple(sentence[i : i + n]) for i in range(len(sentence) - n + 1)]


def ngram_overlap(taught: Sequence[Sentence], exam: Sequence[Sentence], n: int) -> float:
    """Fraction of the n-grams in the taught sentences that also occur in the exam (Appendix C).

    Counted over occurrences in the taught data, so the unigram overlap of Task 1 equals the
    fraction of taught tokens from the exam vocabulary, as in the paper's Table 3. A lesson
    with no n-gram of length n (all sentences shorter than n) has overlap 0.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    exam_grams = {g for s in exam for g in ngrams(s, n)}
    taught_grams = [g for s in taught for g in ngrams(s, n)]
    if not taught_grams:
        return 0.0
    return sum(g in exam_grams for g in taught_grams) / len(taught_grams)


def overlaps(taught: Sequence[Sentence], exam: Sequence[Sentence]) -> dict[str, float]:
    return {
        "unigram": ngram_overlap(taught, exam, 1),
        "bigram": ngram_overlap(taught, exam, 2),
        "trigram": ngram_overlap(taught, exam, 3),
    }
