"""N-gram overlap between what a teacher taught and the exam (the paper's Appendix C)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from ilm_core import EpisodeView, Measure, MeasureResult, NoParams

Sentence = Sequence[int]
#: the n-gram orders measured, by the names the record uses
ORDERS = {"unigram": 1, "bigram": 2, "trigram": 3}


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
    """Unigram, bigram and trigram overlap of `taught` with `exam`."""
    return {name: ngram_overlap(taught, exam, n) for name, n in ORDERS.items()}


class NgramOverlapMeasure(Measure):
    """`overlap_unigram` ... `overlap_trigram` per student, and their means as `overlap` per episode,
    between each student's lesson and the episode's feedback exam."""

    def __init__(self, params: NoParams | None = None):
        self.params = params

    def measure(self, episode: EpisodeView) -> MeasureResult:
        per = [overlaps(taught, episode.feedback_items) for taught in episode.taught]
        return MeasureResult(
            per_student={f"overlap_{name}": [o[name] for o in per] for name in ORDERS},
            episode={"overlap": {name: statistics.fmean(o[name] for o in per) for name in ORDERS}},
        )
