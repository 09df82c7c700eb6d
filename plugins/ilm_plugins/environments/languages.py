"""Generators of the reference languages. Every data set is drawn from one stream of unique
sentences, so the teacher corpus, pool, exam, exam bank and held-out exam never overlap."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable

from ilm_core import ConfigError, Environment, EnvironmentData
from ilm_plugins.environments import (
    LETTERS,
    DomainsParams,
    RandomParams,
    SplitSizes,
    StructuresParams,
)

Sentence = list[int]
Generator = Callable[[random.Random], Sentence]


def draw_unique(make: Generator, n: int, used: set[tuple[int, ...]], rng: random.Random, what: str) -> list[Sentence]:
    """Draw n sentences from `make` that are not in `used` (and add them to it)."""
    out: list[Sentence] = []
    misses = 0
    while len(out) < n:
        sentence = make(rng)
        key = tuple(sentence)
        if key in used:
            misses += 1
            if misses > 2000 + 50 * n:
                raise ConfigError(
                    f"cannot draw {n} unique {what} sentences that differ from the other data sets: "
                    f"the language has too few distinct sentences for these sizes (got {len(out)}). "
                    "Lower the data-set sizes or make the sentences longer."
                )
            continue
        used.add(key)
        out.append(sentence)
    return out


def split(
    sizes: SplitSizes,
    exam_fraction_pool: float,
    exam_fraction_corpus: float,
    in_domain: Generator,
    out_domain: Generator,
    seed: int,
    vocabulary: list[str],
    domain: str,
) -> EnvironmentData:
    """Draw every data set: exam-side sets first (they are the scarcest), then pool and corpus."""
    rng = random.Random(seed)
    used: set[tuple[int, ...]] = set()
    exam = draw_unique(in_domain, sizes.exam_size, used, rng, "exam")
    heldout = draw_unique(in_domain, sizes.heldout_size, used, rng, "held-out exam")
    bank = draw_unique(in_domain, sizes.exam_bank_size, used, rng, "exam bank")
    n_pool_in = round(sizes.pool_size * exam_fraction_pool)
    pool_in = draw_unique(in_domain, n_pool_in, used, rng, "pool (exam domain)")
    pool_out = draw_unique(out_domain, sizes.pool_size - n_pool_in, used, rng, "pool (other domain)")
    n_corpus_in = round(sizes.teacher_corpus_size * exam_fraction_corpus)
    corpus = draw_unique(in_domain, n_corpus_in, used, rng, "teacher corpus") + draw_unique(
        out_domain, sizes.teacher_corpus_size - n_corpus_in, used, rng, "teacher corpus"
    )
    rng.shuffle(corpus)
    labelled = [(s, True) for s in pool_in] + [(s, False) for s in pool_out]
    rng.shuffle(labelled)
    return EnvironmentData(
        vocabulary=vocabulary,
        exam_domain=domain,
        teacher_corpus=corpus,
        pool=[s for s, _ in labelled],
        pool_in_exam_domain=[label for _, label in labelled],
        exam=exam,
        exam_bank=bank,
        heldout_exam=heldout,
    )


class DomainsEnvironment(Environment):
    """Task 1: sentences of `sentence_length` tokens drawn from V1 or from V2."""

    def __init__(self, params: DomainsParams):
        self.params = params

    def build(self, seed: int) -> EnvironmentData:
        p = self.params
        vocabulary = list(p.exam_vocabulary) + list(p.other_vocabulary)
        v1 = list(range(len(p.exam_vocabulary)))
        v2 = list(range(len(p.exam_vocabulary), len(vocabulary)))
        v2 = v1[len(v1) - p.shared_tokens :] + v2[: len(v2) - p.shared_tokens]

        def from_vocab(ids: list[int]) -> Generator:
            return lambda rng: [rng.choice(ids) for _ in range(p.sentence_length)]

        return split(
            p, p.pool_exam_fraction, p.corpus_exam_fraction, from_vocab(v1), from_vocab(v2), seed, vocabulary, "V1"
        )


def single_repetition(reading: str, lo: int, hi: int, size: int) -> Generator:
    """Structure 1: two identical tokens never stand next to each other."""

    def make(rng: random.Random) -> Sentence:
        length = rng.randint(lo, hi)
        if reading == "alternation":
            x, y = rng.sample(range(size), 2)
            return [x if i % 2 == 0 else y for i in range(length)]
        out = [rng.randrange(size)]
        while len(out) < length:
            out.append(rng.choice([t for t in range(size) if t != out[-1]]))
        return out

    return make


def double_repetition(reading: str, lo: int, hi: int, size: int) -> Generator:
    """Structure 2: tokens come in pairs (xx, xxyy, ...); lengths are even."""
    lengths = [n for n in range(lo, hi + 1) if n % 2 == 0]

    def make(rng: random.Random) -> Sentence:
        pairs = rng.choice(lengths) // 2
        if reading == "alternation":
            x, y = rng.sample(range(size), 2)
            tokens = [x if i % 2 == 0 else y for i in range(pairs)]
        else:
            tokens = [rng.randrange(size)]
            while len(tokens) < pairs:
                tokens.append(rng.choice([t for t in range(size) if t != tokens[-1]]))
        return [t for t in tokens for _ in range(2)]

    return make


class StructuresEnvironment(Environment):
    """Task 2: Structure 1 vs Structure 2 sentences over one vocabulary (see `reading`)."""

    def __init__(self, params: StructuresParams):
        if not any(n % 2 == 0 for n in range(params.min_length, params.max_length + 1)):
            raise ConfigError(
                f"structures: min_length={params.min_length}, max_length={params.max_length} allow "
                "no even length, so no double-repetition sentence can be built"
            )
        self.params = params

    def build(self, seed: int) -> EnvironmentData:
        p = self.params
        size = len(p.vocabulary)
        s1 = single_repetition(p.reading, p.min_length, p.max_length, size)
        s2 = double_repetition(p.reading, p.min_length, p.max_length, size)
        return split(p, p.pool_exam_fraction, p.corpus_exam_fraction, s1, s2, seed, list(p.vocabulary), "Structure 1")


class RandomEnvironment(Environment):
    """Uniformly random tokens; every pool sentence counts as exam domain."""

    def __init__(self, params: RandomParams):
        self.params = params

    def build(self, seed: int) -> EnvironmentData:
        p = self.params

        def make(rng: random.Random) -> Sentence:
            return [rng.randrange(p.vocabulary_size) for _ in range(p.sentence_length)]

        return split(p, 1.0, 1.0, make, make, seed, list(LETTERS[: p.vocabulary_size]), "all")


def is_single_repetition(sentence: Sentence) -> bool:
    return all(a != b for a, b in itertools.pairwise(sentence))


def is_double_repetition(sentence: Sentence) -> bool:
    return len(sentence) % 2 == 0 and all(sentence[i] == sentence[i + 1] for i in range(0, len(sentence), 2))
