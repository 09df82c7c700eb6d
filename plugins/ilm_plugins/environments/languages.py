"""Generators of the reference languages. Every data set is drawn from one stream of unique
sentences, so the teacher corpus, pool, exam, exam bank and held-out exam never overlap."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable

from ilm_core import ConfigError, Environment, EnvironmentData, Goal, Judgement, MinimalPair
from ilm_plugins.environments import (
    DomainsParams,
    RandomParams,
    SplitSizes,
    StructuresParams,
    token_names,
)
from ilm_plugins.environments.pairs import foreign_token_pairs, repetition_pairs

Sentence = list[int]
Generator = Callable[[random.Random], Sentence]
PairMaker = Callable[[list[Sentence], random.Random], list[MinimalPair]]


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


def pool_and_corpus(
    sizes: SplitSizes,
    exam_fraction_pool: float,
    exam_fraction_corpus: float,
    languages: tuple[Generator, Generator],
    used: set[tuple[int, ...]],
    rng: random.Random,
    names: tuple[str, str],
) -> tuple[list[Sentence], list[tuple[Sentence, bool]]]:
    """The teacher corpus (shuffled) and the pool, each sentence labelled True when it is of the first
    language, drawn after the exam-side sets."""
    (in_domain, out_domain), (first, second) = languages, names
    n_pool_in = round(sizes.pool_size * exam_fraction_pool)
    pool_in = draw_unique(in_domain, n_pool_in, used, rng, f"pool ({first})")
    pool_out = draw_unique(out_domain, sizes.pool_size - n_pool_in, used, rng, f"pool ({second})")
    n_corpus_in = round(sizes.teacher_corpus_size * exam_fraction_corpus)
    corpus = draw_unique(in_domain, n_corpus_in, used, rng, "teacher corpus") + draw_unique(
        out_domain, sizes.teacher_corpus_size - n_corpus_in, used, rng, "teacher corpus"
    )
    rng.shuffle(corpus)
    labelled = [(s, True) for s in pool_in] + [(s, False) for s in pool_out]
    rng.shuffle(labelled)
    return corpus, labelled


def split(
    sizes: SplitSizes,
    exam_fraction_pool: float,
    exam_fraction_corpus: float,
    in_domain: Generator,
    out_domain: Generator,
    seed: int,
    vocabulary: list[str],
    domain: str,
    make_pairs: PairMaker | None = None,
) -> EnvironmentData:
    """Draw every data set: exam-side sets first (they are the scarcest), then pool and corpus.

    Minimal pairs (`make_pairs`) break the exam bank's sentences (feedback pairs) and the
    held-out exam's (held-out pairs), with a random stream of their own: the data sets are
    the same with or without them."""
    rng = random.Random(seed)
    used: set[tuple[int, ...]] = set()
    exam = draw_unique(in_domain, sizes.exam_size, used, rng, "exam")
    heldout = draw_unique(in_domain, sizes.heldout_size, used, rng, "held-out exam")
    bank = draw_unique(in_domain, sizes.exam_bank_size, used, rng, "exam bank")
    corpus, labelled = pool_and_corpus(
        sizes,
        exam_fraction_pool,
        exam_fraction_corpus,
        (in_domain, out_domain),
        used,
        rng,
        ("exam domain", "other domain"),
    )
    pair_rng = random.Random(f"{seed}-minimal-pairs")
    pairs = make_pairs(bank, pair_rng) if make_pairs else []
    heldout_pairs = make_pairs(heldout, pair_rng) if make_pairs else []
    return EnvironmentData(
        vocabulary=vocabulary,
        exam_domain=domain,
        teacher_corpus=corpus,
        pool=[s for s, _ in labelled],
        pool_in_exam_domain=[label for _, label in labelled],
        exam=exam,
        exam_bank=bank,
        heldout_exam=heldout,
        minimal_pairs=pairs,
        heldout_minimal_pairs=heldout_pairs,
    )


def split_goals(
    sizes: SplitSizes,
    exam_fraction_pool: float,
    exam_fraction_corpus: float,
    goals: dict[str, Generator],
    seed: int,
    vocabulary: list[str],
) -> EnvironmentData:
    """Hidden per-student goals over two languages: each goal gets its own exam, exam bank and
    held-out exam (each of the split's sizes); the pool and the teacher corpus mix the two
    languages as the split says (the first goal's share is `exam_fraction_*`)."""
    (first, in_domain), (second, out_domain) = goals.items()
    rng = random.Random(seed)
    used: set[tuple[int, ...]] = set()
    sets: dict[str, dict[str, list[Sentence]]] = {}
    for name, make in goals.items():
        sets[name] = {
            "exam": draw_unique(make, sizes.exam_size, used, rng, f"exam ({name})"),
            "heldout_exam": draw_unique(make, sizes.heldout_size, used, rng, f"held-out exam ({name})"),
            "exam_bank": draw_unique(make, sizes.exam_bank_size, used, rng, f"exam bank ({name})"),
        }
    corpus, labelled = pool_and_corpus(
        sizes, exam_fraction_pool, exam_fraction_corpus, (in_domain, out_domain), used, rng, (first, second)
    )
    in_first = [label for _, label in labelled]
    return EnvironmentData(
        vocabulary=vocabulary,
        exam_domain=f"{first} or {second}, a hidden goal per student",
        teacher_corpus=corpus,
        pool=[s for s, _ in labelled],
        exam=[s for g in sets.values() for s in g["exam"]],
        exam_bank=[s for g in sets.values() for s in g["exam_bank"]],
        heldout_exam=[s for g in sets.values() for s in g["heldout_exam"]],
        goals={
            first: Goal(**sets[first], pool=in_first),
            second: Goal(**sets[second], pool=[not x for x in in_first]),
        },
    )


class DomainsEnvironment(Environment):
    """Task 1: sentences of `sentence_length` tokens drawn from V1 or from V2."""

    def __init__(self, params: DomainsParams):
        self.params = params

    def build(self, seed: int) -> EnvironmentData:
        p = self.params
        exam_vocabulary, other_vocabulary = p.vocabularies()
        vocabulary = exam_vocabulary + other_vocabulary
        v1 = list(range(len(exam_vocabulary)))
        v2 = list(range(len(exam_vocabulary), len(vocabulary)))
        v2 = v1[len(v1) - p.shared_tokens :] + v2[: len(v2) - p.shared_tokens]

        def from_vocab(ids: list[int]) -> Generator:
            return lambda rng: [rng.choice(ids) for _ in range(p.sentence_length)]

        def make_pairs(sentences: list[Sentence], rng: random.Random) -> list[MinimalPair]:
            return foreign_token_pairs(sentences, v2, rng)

        in_domain, out_domain = from_vocab(v1), from_vocab(v2)
        if p.goals:
            goals = {"V1": in_domain, "V2": out_domain}
            return split_goals(p, p.pool_exam_fraction, p.corpus_exam_fraction, goals, seed, vocabulary)
        return split(
            p, p.pool_exam_fraction, p.corpus_exam_fraction, in_domain, out_domain, seed, vocabulary, "V1", make_pairs
        )

    def label(self, sentence: Sentence) -> bool:
        """In V1 when every token is a V1 token."""
        return all(0 <= t < len(self.params.exam_vocabulary) for t in sentence)

    def judge(self, sentence: Sentence) -> Judgement:
        """In the language when it has `sentence_length` tokens, all from V1 or all from V2; else
        where it first mixes the two domains, or where its length goes wrong."""
        p = self.params
        exam_vocabulary, other_vocabulary = p.vocabularies()
        n1, n = len(exam_vocabulary), len(exam_vocabulary) + len(other_vocabulary)
        domains = {"V1": set(range(n1)), "V2": set(range(n1 - p.shared_tokens, n - p.shared_tokens))}
        return judge_by_prefix(sentence, {name: _domain_rule(ids, p.sentence_length) for name, ids in domains.items()})

    def max_sentence_length(self) -> int:
        return self.params.sentence_length


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
        vocabulary = p.tokens()
        size = len(vocabulary)
        s1 = single_repetition(p.reading, p.min_length, p.max_length, size)
        s2 = double_repetition(p.reading, p.min_length, p.max_length, size)
        if p.goals:
            goals = {"Structure 1": s1, "Structure 2": s2}
            return split_goals(p, p.pool_exam_fraction, p.corpus_exam_fraction, goals, seed, vocabulary)
        return split(
            p, p.pool_exam_fraction, p.corpus_exam_fraction, s1, s2, seed, vocabulary, "Structure 1", repetition_pairs
        )

    def judge(self, sentence: Sentence) -> Judgement:
        """In the language when it is a Structure 1 or a Structure 2 sentence (under the run's
        `reading`, lengths in bounds); else the position and rule where it leaves both."""
        p = self.params
        rules = {
            "Structure 1": _single_rule(p.reading, p.min_length, p.max_length),
            "Structure 2": _double_rule(p.reading, p.min_length, p.max_length),
        }
        return judge_by_prefix(sentence, rules)

    def label(self, sentence: Sentence) -> bool:
        """Structure 1 when its length is in bounds and no two neighbours are equal (under the
        alternation reading: it also alternates two tokens, xyxy...)."""
        p = self.params
        if not p.min_length <= len(sentence) <= p.max_length or not is_single_repetition(sentence):
            return False
        return p.reading != "alternation" or all(a == b for a, b in zip(sentence, sentence[2:], strict=False))

    def max_sentence_length(self) -> int:
        return self.params.max_length


class RandomEnvironment(Environment):
    """Uniformly random tokens; every pool sentence counts as exam domain."""

    def __init__(self, params: RandomParams):
        self.params = params

    def build(self, seed: int) -> EnvironmentData:
        p = self.params

        def make(rng: random.Random) -> Sentence:
            return [rng.randrange(p.vocabulary_size) for _ in range(p.sentence_length)]

        return split(p, 1.0, 1.0, make, make, seed, token_names(p.vocabulary_size), "all")

    def label(self, sentence: Sentence) -> bool:
        """Every sentence counts as the exam's domain ("all")."""
        return True

    def judge(self, sentence: Sentence) -> Judgement:
        """In the language when it has `sentence_length` tokens (any tokens)."""
        size = len(token_names(self.params.vocabulary_size))
        return judge_by_prefix(sentence, {"all": _domain_rule(set(range(size)), self.params.sentence_length)})

    def max_sentence_length(self) -> int:
        return self.params.sentence_length


def is_single_repetition(sentence: Sentence) -> bool:
    return all(a != b for a, b in itertools.pairwise(sentence))


def is_double_repetition(sentence: Sentence) -> bool:
    return len(sentence) % 2 == 0 and all(sentence[i] == sentence[i + 1] for i in range(0, len(sentence), 2))


#: a structure's rule: the first position where a sentence leaves it and why, or None when it is one
Rule = Callable[[Sentence], tuple[int, str] | None]


def judge_by_prefix(sentence: Sentence, structures: dict[str, Rule]) -> Judgement:
    """The judgement of a language that is the union of `structures`: in it when some structure
    takes the sentence; else it leaves the language where the structure that went furthest fails."""
    failures = {}
    for name, rule in structures.items():
        failed = rule(sentence)
        if failed is None:
            return Judgement(in_language=True, structure=name)
        failures[name] = failed
    name = max(failures, key=lambda k: failures[k][0])  # first of the furthest, in the order given
    position, why = failures[name]
    return Judgement(in_language=False, position=position, rule=f"{name}: {why}")


def _length_end(sentence: Sentence, lo: int, hi: int, even: bool = False) -> tuple[int, str] | None:
    """Where a sentence whose tokens all fit fails on its length (None: its length is allowed)."""
    if len(sentence) < lo:
        return len(sentence), f"shorter than {lo} tokens"
    if even and len(sentence) % 2:
        return len(sentence), "ends inside a pair (odd length)"
    return None if len(sentence) <= hi else (hi, f"longer than {hi} tokens")


def _domain_rule(ids: set[int], length: int) -> Rule:
    def rule(sentence: Sentence) -> tuple[int, str] | None:
        for i, t in enumerate(sentence[:length]):
            if t not in ids:
                return i, "a token from outside the domain"
        return _length_end(sentence, length, length)

    return rule


def _single_rule(reading: str, lo: int, hi: int) -> Rule:
    def rule(sentence: Sentence) -> tuple[int, str] | None:
        for i in range(1, min(len(sentence), hi)):
            if sentence[i] == sentence[i - 1]:
                return i, "two equal neighbours"
            if reading == "alternation" and i >= 2 and sentence[i] != sentence[i - 2]:
                return i, "breaks the alternation of two tokens"
        return _length_end(sentence, lo, hi)

    return rule


def _double_rule(reading: str, lo: int, hi: int) -> Rule:
    top = hi - hi % 2  # the longest even length

    def rule(sentence: Sentence) -> tuple[int, str] | None:
        for i in range(1, min(len(sentence), top)):
            if i % 2 and sentence[i] != sentence[i - 1]:
                return i, "a token without its pair"
            if not i % 2 and sentence[i] == sentence[i - 1]:
                return i, "a pair repeats the one before"
            if not i % 2 and reading == "alternation" and i >= 4 and sentence[i] != sentence[i - 4]:
                return i, "breaks the alternation of two pairs"
        return _length_end(sentence, max(lo + lo % 2, 2), top, even=True)

    return rule
