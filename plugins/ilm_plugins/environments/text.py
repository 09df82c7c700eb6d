"""The `text` environment: a subset of human language, split by domain.

Each label of `sources` (a domain, or a structure the user defines by how they file their
text) gives sentences; the exam's label gives the exam, exam bank, held-out exam and its share
of the pool and teacher corpus, the other labels the rest. A byte-level BPE tokenizer is
trained on the teacher corpus alone, so it never sees a sentence of the exams, the exam bank,
the held-out exam or the pool; it is saved as `environment/tokenizer.json` in the run.
"""

from __future__ import annotations

import json
import random
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ilm_core import ConfigError, Environment, EnvironmentData, MinimalPair
from ilm_plugins.environments import SHIPPED_CORPUS, TextParams
from ilm_plugins.environments.subword import encode, train_tokenizer, vocabulary_of
from ilm_plugins.environments.textfiles import files_of, lines_of, sample_units

CORPUS_DIR = Path(__file__).parent / "corpus"
#: reservoir size per label: this many times the sentences needed, so that sentences dropped
#: as too long in tokens, or as duplicates, can be replaced
OVERSAMPLE = 2.0
#: the tokenizer trains on this many times the teacher corpus's sentences (plus 5 per label) and
#: the corpus is the first of them that fit max_tokens; the rest go unused, in no data set. When
#: too few fit, it trains again on more (the next factor).
CORPUS_SPARE = (1.1, 1.5, 2.5)
WORD_ORDER, FOREIGN_WORD = "word-order", "foreign-word"


def _seed(seed: int, *parts: str) -> int:
    return zlib.crc32("/".join((str(seed), *parts)).encode())


class Taker:
    """Hands out distinct tokenized sentences of one label, in the sampled order."""

    def __init__(self, label: str, texts: list[str], available: int, tokenizer: Any, max_tokens: int):
        self.label, self.available = label, available
        self.texts: Iterator[str] = iter(texts)
        self.tokenizer, self.max_tokens = tokenizer, max_tokens

    def take(self, n: int, used: set[tuple[int, ...]], what: str) -> tuple[list[str], list[list[int]]]:
        texts: list[str] = []
        ids: list[list[int]] = []
        for text in self.texts:
            if len(ids) == n:
                break
            tokens = encode(self.tokenizer, [text])[0]
            if not tokens or len(tokens) > self.max_tokens or tuple(tokens) in used:
                continue
            used.add(tuple(tokens))
            texts.append(text)
            ids.append(tokens)
        if len(ids) < n:
            raise ConfigError(
                f"environment 'text': the source '{self.label}' has too few distinct sentences for the {what} "
                f"({self.available} fit min_words..max_words; {len(ids)} of the {n} needed were left after the "
                "other data sets and the max_tokens limit). Give more text, widen min_words/max_words/max_tokens, "
                "or lower the data-set sizes."
            )
        return texts, ids


class TextEnvironment(Environment):
    def __init__(self, params: TextParams):
        self.params = params

    def sources(self) -> dict[str, list[str]]:
        if self.params.sources is not None:
            return dict(self.params.sources)
        return {label: [str(CORPUS_DIR / name)] for label, name in SHIPPED_CORPUS.items()}

    def build(self, seed: int) -> EnvironmentData:
        p = self.params
        sources = self.sources()
        exam_label = p.exam_domain or next(iter(sources))
        others = [label for label in sources if label != exam_label]
        n_pool_in = round(p.pool_size * p.pool_exam_fraction)
        n_corpus_in = round(p.teacher_corpus_size * p.corpus_exam_fraction)
        pool_out = _spread(p.pool_size - n_pool_in, others)
        corpus_out = _spread(p.teacher_corpus_size - n_corpus_in, others)
        need = {exam_label: p.exam_size + p.heldout_size + p.exam_bank_size + n_pool_in + n_corpus_in}
        need.update({label: pool_out[label] + corpus_out[label] for label in others})

        samples: dict[str, list[str]] = {}
        seen: dict[str, int] = {}
        for label, paths in sources.items():
            k = int(need[label] * OVERSAMPLE) + 20
            samples[label], seen[label] = sample_units(
                label, paths, p.unit, p.encoding, p.min_words, p.max_words, k, _seed(seed, "sample", label)
            )
            if len(samples[label]) < need[label]:
                raise ConfigError(
                    f"environment 'text': the source '{label}' gives {len(samples[label])} distinct {p.unit}s of "
                    f"{p.min_words}-{p.max_words} words, but the data sets need {need[label]} from it. Give more "
                    "text, widen min_words/max_words, or lower the data-set sizes (teacher_corpus_size, pool_size, "
                    "exam_bank_size, heldout_size)."
                )

        n_corpus = {exam_label: n_corpus_in, **corpus_out}
        tokenizer, corpus, corpus_texts, used = self._corpus_and_tokenizer(samples, seen, n_corpus)
        spare = {label: len(texts) for label, texts in corpus_texts.items()}
        takers = {
            label: Taker(label, samples[label][spare[label] :], seen[label], tokenizer, p.max_tokens)
            for label in sources
        }
        exam_side = takers[exam_label]
        exam = exam_side.take(p.exam_size, used, "exam")[1]
        heldout_texts, heldout = exam_side.take(p.heldout_size, used, "held-out exam")
        bank_texts, bank = exam_side.take(p.exam_bank_size, used, "exam bank")
        labelled = [(s, True) for s in exam_side.take(n_pool_in, used, "pool")[1]]
        for label in others:
            labelled += [(s, False) for s in takers[label].take(pool_out[label], used, "pool")[1]]

        rng = random.Random(_seed(seed, "order"))
        rng.shuffle(corpus)
        rng.shuffle(labelled)
        if p.minimal_pairs:
            pairs, heldout_pairs = self._pairs_from_files(tokenizer, used, seed)
        elif p.make_pairs:
            foreign = _foreign_words(corpus_texts[exam_label], [t for o in others for t in corpus_texts[o]])
            pair_rng = random.Random(_seed(seed, "pairs"))
            pairs = _made_pairs(tokenizer, bank_texts, bank, foreign, pair_rng)
            heldout_pairs = _made_pairs(tokenizer, heldout_texts, heldout, foreign, pair_rng)
        else:
            pairs, heldout_pairs = [], []
        return EnvironmentData(
            vocabulary=vocabulary_of(tokenizer),
            exam_domain=exam_label,
            teacher_corpus=corpus,
            pool=[s for s, _ in labelled],
            pool_in_exam_domain=[inside for _, inside in labelled],
            exam=exam,
            exam_bank=bank,
            heldout_exam=heldout,
            minimal_pairs=pairs,
            heldout_minimal_pairs=heldout_pairs,
            artifacts={"tokenizer.json": tokenizer.to_str(pretty=True)},
        )

    def _corpus_and_tokenizer(
        self, samples: dict[str, list[str]], seen: dict[str, int], n_corpus: dict[str, int]
    ) -> tuple[Any, list[list[int]], dict[str, list[str]], set[tuple[int, ...]]]:
        """Train the tokenizer on the first candidates of each label and nothing else, and take the
        teacher corpus from those same candidates (what fits max_tokens). Returns the tokenizer,
        the corpus, the candidates it was trained on per label, and the corpus's token tuples."""
        p = self.params
        for factor in CORPUS_SPARE:
            spare = {label: min(len(samples[label]) - 1, int(n * factor) + 5) for label, n in n_corpus.items()}
            texts = {label: samples[label][: spare[label]] for label in samples}
            tokenizer = train_tokenizer([t for group in texts.values() for t in group], p.tokenizer_vocabulary)
            used: set[tuple[int, ...]] = set()
            corpus: list[list[int]] = []
            try:
                for label in samples:
                    taker = Taker(label, texts[label], seen[label], tokenizer, p.max_tokens)
                    corpus += taker.take(n_corpus[label], used, "teacher corpus")[1]
                return tokenizer, corpus, texts, used
            except ConfigError:
                if factor == CORPUS_SPARE[-1]:
                    raise
        raise AssertionError("unreachable: the last factor re-raises")

    def _pairs_from_files(
        self, tokenizer: Any, taken: set[tuple[int, ...]], seed: int
    ) -> tuple[list[MinimalPair], list[MinimalPair]]:
        """The user's BLiMP-format pairs, tokenized; a pair whose good sentence is already in another
        data set is left out (it would not be unseen). Split into feedback and held-out pairs."""
        pairs: list[MinimalPair] = []
        goods: set[tuple[int, ...]] = set()
        for good_text, bad_text, phenomenon in read_blimp(self.params.minimal_pairs, self.params.encoding):
            good, bad = encode(tokenizer, [good_text, bad_text])
            if not good or not bad or tuple(good) in taken or tuple(good) in goods or good == bad:
                continue
            goods.add(tuple(good))
            pairs.append(MinimalPair(good=good, bad=bad, phenomenon=phenomenon))
        if len(pairs) < 2:
            raise ConfigError(
                f"environment.minimal_pairs: the files give {len(pairs)} usable pair(s) (a pair needs a good and a "
                "bad sentence that differ after tokenization, and a good sentence in no other data set); give at "
                "least two"
            )
        random.Random(_seed(seed, "pairs")).shuffle(pairs)
        n_heldout = max(1, round(len(pairs) * self.params.heldout_pairs_fraction))
        return pairs[n_heldout:], pairs[:n_heldout]


def _spread(n: int, labels: list[str]) -> dict[str, int]:
    """n sentences over labels, as evenly as possible (the first labels get the remainder)."""
    base, extra = divmod(n, len(labels)) if labels else (0, 0)
    return {label: base + (1 if i < extra else 0) for i, label in enumerate(labels)}


def read_blimp(paths: list[str], encoding: str) -> Iterator[tuple[str, str, str]]:
    """(good, bad, phenomenon) of every line of BLiMP-format JSONL files, streamed."""
    for path in files_of("minimal_pairs", paths):
        for number, line in enumerate(lines_of(path, "minimal_pairs", encoding), start=1):
            if not line.strip():
                continue
            where = f"environment.minimal_pairs: {str(path)!r} line {number}"
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{where} is not JSON ({exc.msg}); give one JSON object per line") from None
            if not isinstance(item, dict) or not all(
                isinstance(item.get(k), str) and item[k].strip() for k in ("sentence_good", "sentence_bad")
            ):
                raise ConfigError(
                    f"{where} lacks a text 'sentence_good' and 'sentence_bad' (BLiMP format; optional "
                    "'phenomenon', 'field' or 'UID' names the component)"
                )
            phenomenon = next((str(item[k]) for k in ("phenomenon", "UID", "field") if item.get(k)), "all")
            yield " ".join(item["sentence_good"].split()), " ".join(item["sentence_bad"].split()), phenomenon


def _words(texts: list[str]) -> set[str]:
    return {w for t in texts for w in t.split() if w.isalpha()}


def _foreign_words(exam_texts: list[str], other_texts: list[str]) -> list[str]:
    """Words of the other domains' corpus sentences that the exam domain's never uses."""
    return sorted(_words(other_texts) - _words(exam_texts))


def _made_pairs(
    tokenizer: Any, texts: list[str], ids: list[list[int]], foreign: list[str], rng: random.Random
) -> list[MinimalPair]:
    """Pairs from exam-side sentences: two adjacent words swapped (word order), or, every other pair,
    one word replaced by a word only the other domains use (domain)."""
    pairs = []
    for k, (text, good) in enumerate(zip(texts, ids, strict=True)):
        words = text.split()
        spots = [i for i in range(len(words) - 1) if words[i] != words[i + 1]]
        if k % 2 == 1 and foreign:
            i = rng.randrange(len(words))
            bad_words, phenomenon = [*words[:i], rng.choice(foreign), *words[i + 1 :]], FOREIGN_WORD
        elif spots:
            i = rng.choice(spots)
            bad_words, phenomenon = [*words[:i], words[i + 1], words[i], *words[i + 2 :]], WORD_ORDER
        else:
            continue
        bad = encode(tokenizer, [" ".join(bad_words)])[0]
        if bad != good:
            pairs.append(MinimalPair(good=good, bad=bad, phenomenon=phenomenon))
    return pairs
