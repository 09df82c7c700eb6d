"""Scoring shared by the exams: perplexity of sentences, accuracy on minimal pairs, per component.

Labels travel with an exam's items (`Exam.labels`, `Exam.evaluations`). Here a label names the
item's component; an item list whose labels start with `PAIR` holds minimal pairs, good and
bad sentence alternating (good_0, bad_0, good_1, bad_1, ...), labelled by phenomenon.

How components add up (tested in tests/test_components.py):
- perplexity: a component's perplexity is exp(its NLL / its tokens) and its weight its tokens,
  so the exam's log-perplexity is the weight-averaged log-perplexity of its components;
- accuracy: a component's accuracy is over its pairs and its weight is its number of pairs, so
  the exam's accuracy is the weight-averaged accuracy of its components.
"""

from __future__ import annotations

import math
from collections import defaultdict

from ilm_core import ComponentScore, ExamResult, TrainedStudents

PAIR = "pair:"


def exp_(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def pair_labels(phenomena: list[str]) -> list[str]:
    """The labels of a flattened pair list (two per pair, good then bad)."""
    return [f"{PAIR}{p or 'all'}" for p in phenomena for _ in range(2)]


def score_items(students: TrainedStudents, sentences: list[list[int]], labels: list[str] | None) -> list[ExamResult]:
    """Perplexity of sentences (components: their labels), or accuracy of pairs (labels with `PAIR`)."""
    if labels and labels[0].startswith(PAIR):
        return score_pairs(students, sentences, [label[len(PAIR) :] for label in labels[::2]])
    return score_sentences(students, sentences, labels)


def score_sentences(
    students: TrainedStudents, sentences: list[list[int]], labels: list[str] | None = None
) -> list[ExamResult]:
    nll, ntokens = students.sentence_nll(sentences)
    total = sum(ntokens)
    results = []
    for row in nll:
        components = None
        if labels:
            sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])
            for value, n, label in zip(row, ntokens, labels, strict=True):
                sums[label][0] += value
                sums[label][1] += n
            components = {k: ComponentScore(score=exp_(v / n), weight=n) for k, (v, n) in sorted(sums.items())}
        results.append(
            ExamResult(
                perplexity=exp_(sum(row) / total),
                item_perplexities=[exp_(v / n) for v, n in zip(row, ntokens, strict=True)],
                nll=sum(row),
                tokens=total,
                components=components,
            )
        )
    return results


def score_pairs(students: TrainedStudents, sentences: list[list[int]], phenomena: list[str]) -> list[ExamResult]:
    """BLiMP: a pair counts as right when the good sentence's total log-probability is the higher.

    The result's perplexity is that of the good sentences, so a pair exam is also a perplexity exam."""
    nll, ntokens = students.sentence_nll(sentences)
    good_tokens = ntokens[::2]
    total = sum(good_tokens)
    results = []
    for row in nll:
        good, bad = row[::2], row[1::2]
        right = [g < b for g, b in zip(good, bad, strict=True)]
        tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for ok, phenomenon in zip(right, phenomena, strict=True):
            tally[phenomenon][0] += ok
            tally[phenomenon][1] += 1
        results.append(
            ExamResult(
                perplexity=exp_(sum(good) / total),
                item_perplexities=[exp_(v / n) for v, n in zip(good, good_tokens, strict=True)],
                nll=sum(good),
                tokens=total,
                accuracy=sum(right) / len(right),
                components={k: ComponentScore(score=r / n, weight=n) for k, (r, n) in sorted(tally.items())},
            )
        )
    return results


def aggregate(components: dict[str, ComponentScore], unit: str) -> float:
    """The overall score the components add up to: perplexity (log-average) or accuracy (average)."""
    weight = sum(c.weight for c in components.values())
    if unit == "perplexity":
        return exp_(sum(c.weight * math.log(c.score) for c in components.values()) / weight)
    return sum(c.weight * c.score for c in components.values()) / weight
