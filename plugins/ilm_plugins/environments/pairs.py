"""Minimal pairs made from a language's own grammar (the BLiMP protocol on artificial languages).

Each pair keeps an exam-side sentence as the good one and breaks it in one place: a token of
another domain swapped in (Task 1), or two identical tokens made neighbours (Task 2). The
good sentences are exam material (exam bank, held-out exam), so no teacher ever sees them.
"""

from __future__ import annotations

import random
from collections import Counter

from ilm_core import MinimalPair

Sentence = list[int]

FOREIGN = "foreign-token"
REORDERED = "reordered-repeat"
DOUBLED = "doubled-token"


def foreign_token_pairs(sentences: list[Sentence], foreign: list[int], rng: random.Random) -> list[MinimalPair]:
    """Good: an exam-domain sentence; bad: the same with one token replaced by a foreign-domain token."""
    pairs = []
    for good in sentences:
        bad = list(good)
        bad[rng.randrange(len(bad))] = rng.choice(foreign)
        pairs.append(MinimalPair(good=list(good), bad=bad, phenomenon=FOREIGN))
    return pairs


def reordered(good: Sentence, rng: random.Random) -> Sentence | None:
    """The same tokens with one repeated token moved next to its twin (None: no token repeats)."""
    twins = [t for t, n in Counter(good).items() if n > 1]
    if not twins:
        return None
    token = rng.choice(twins)
    first, second = [i for i, t in enumerate(good) if t == token][:2]
    bad = good[:second] + good[second + 1 :]
    bad.insert(first + 1, token)
    return bad


def repetition_pairs(sentences: list[Sentence], rng: random.Random) -> list[MinimalPair]:
    """Good: a Structure 1 sentence (no two identical neighbours); bad: it with two identical
    neighbours, by moving a repeated token next to its twin (same tokens) or, every other pair
    and when no token repeats, by doubling one token over its right neighbour."""
    pairs = []
    for k, good in enumerate(sentences):
        if len(good) < 2:
            continue
        bad = reordered(good, rng) if k % 2 == 0 else None
        phenomenon = REORDERED
        if bad is None:
            i = rng.randrange(len(good) - 1)
            bad, phenomenon = [*good[: i + 1], good[i], *good[i + 2 :]], DOUBLED
        pairs.append(MinimalPair(good=list(good), bad=bad, phenomenon=phenomenon))
    return pairs
