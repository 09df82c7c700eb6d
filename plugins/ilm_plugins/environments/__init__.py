"""Environments: the paper's artificial languages (any vocabulary size), a random language, real text."""

from __future__ import annotations

import string
from collections.abc import Iterator
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from ilm_core import Capability, EnvironmentSpec, PluginSpec, hookimpl

LETTERS = string.ascii_letters


class SplitSizes(BaseModel):
    """Sizes of the data sets every reference environment builds (all pairwise disjoint)."""

    model_config = ConfigDict(extra="forbid")

    teacher_corpus_size: int = Field(100, ge=0, description="sentences to pretrain the teacher's LM")
    pool_size: int = Field(100, ge=1, description="sentences the teacher can select from")
    exam_size: int = Field(10, ge=1, description="sentences of the (fixed) feedback exam")
    exam_bank_size: int = Field(200, ge=0, description="exam-domain sentences for fresh feedback exams")
    heldout_size: int = Field(50, ge=0, description="held-out final exam, never seen by a teacher")


#: the largest generated vocabulary (each student's embedding table grows with it)
MAX_VOCABULARY = 50_000


def token_names(n: int) -> list[str]:
    """Names of a generated vocabulary: letters while they last (a..t for 20 tokens, as in the paper)."""
    return list(LETTERS[:n]) if n <= len(LETTERS) else [f"w{i}" for i in range(n)]


#: the paper's vocabularies (Task 1: V1 and V2; Task 2: V1)
DEFAULT_LISTS = {"exam_vocabulary": list("abcdefghij"), "other_vocabulary": list("klmnopqrst")}


def _listed_once(tokens: list[str]) -> list[str]:
    repeated = sorted({t for t in tokens if tokens.count(t) > 1})
    if repeated:
        raise ValueError(f"{', '.join(map(repr, repeated))} listed more than once; list each token once")
    return tokens


#: a vocabulary given as a list: every token once (a repeated one would silently shrink the language)
Tokens = Annotated[list[str], AfterValidator(_listed_once)]


class DomainsParams(SplitSizes):
    exam_vocabulary: Tokens = Field(default_factory=lambda: list(DEFAULT_LISTS["exam_vocabulary"]), min_length=1)
    other_vocabulary: Tokens = Field(default_factory=lambda: list(DEFAULT_LISTS["other_vocabulary"]), min_length=1)
    # -- vocabulary size (road-map cell environment.language.artificial.vocabulary-sizes)
    vocabulary_size: int | None = Field(
        None,
        ge=2,
        le=MAX_VOCABULARY,
        description="tokens of V1 and V2 together, named by the environment; None = the exam_vocabulary and "
        "other_vocabulary lists (the paper's 10 + 10)",
    )
    exam_vocabulary_share: float = Field(
        0.5,
        gt=0,
        lt=1,
        description="with vocabulary_size: the share of its tokens that form V1, the exam's domain (else ignored)",
    )
    sentence_length: int = Field(10, ge=1)
    pool_exam_fraction: float = Field(0.5, ge=0, le=1, description="share of V1 sentences in the pool")
    corpus_exam_fraction: float = Field(0.5, ge=0, le=1, description="share of V1 sentences in the teacher corpus")
    shared_tokens: int = Field(
        0, ge=0, description="overlapping domains: V2 sentences use the last N tokens of V1 in place of N of their own"
    )
    goals: bool = Field(
        False,
        strict=True,
        description="hidden per-student goals: each student's exams (mid-terms, final, held-out) are V1 or V2, "
        "drawn per student and episode and never shown to a learning teacher, which must infer them from the "
        "feedback; the exam sizes are per goal",
    )

    @model_validator(mode="after")
    def _disjoint_vocabularies(self) -> DomainsParams:
        shared = set(self.exam_vocabulary) & set(self.other_vocabulary)
        if shared:
            raise ValueError(
                f"exam_vocabulary and other_vocabulary share {sorted(shared)}; the domains must be disjoint"
            )
        if self.vocabulary_size is None:
            return self
        # compared by value, not by which fields were given: a resolved config holds every field
        listed = [f for f in ("exam_vocabulary", "other_vocabulary") if getattr(self, f) != DEFAULT_LISTS[f]]
        if listed:
            raise ValueError(
                f"give either vocabulary_size ({self.vocabulary_size}) or explicit {' and '.join(sorted(listed))}, "
                "not both"
            )
        n_exam = round(self.vocabulary_size * self.exam_vocabulary_share)
        if not 1 <= n_exam < self.vocabulary_size:
            raise ValueError(
                f"vocabulary_size = {self.vocabulary_size} with exam_vocabulary_share = {self.exam_vocabulary_share} "
                f"gives V1 {n_exam} of {self.vocabulary_size} tokens; each domain needs at least one token"
            )
        return self

    @model_validator(mode="after")
    def _shared_tokens_fit(self) -> DomainsParams:
        v1, v2 = self.vocabularies()
        if self.shared_tokens >= min(len(v1), len(v2)):
            raise ValueError(f"shared_tokens = {self.shared_tokens} must be below the size of each vocabulary")
        return self

    def vocabularies(self) -> tuple[list[str], list[str]]:
        """(V1, V2): the explicit lists, or `vocabulary_size` generated tokens split by the share."""
        if self.vocabulary_size is None:
            return list(self.exam_vocabulary), list(self.other_vocabulary)
        names = token_names(self.vocabulary_size)
        n_exam = round(self.vocabulary_size * self.exam_vocabulary_share)
        return names[:n_exam], names[n_exam:]


class StructuresParams(SplitSizes):
    vocabulary: Tokens = Field(default_factory=lambda: list(DEFAULT_LISTS["exam_vocabulary"]), min_length=2)
    vocabulary_size: int | None = Field(
        None, ge=2, le=MAX_VOCABULARY, description="tokens, named by the environment; None = the vocabulary list"
    )
    min_length: int = Field(2, ge=2)
    max_length: int = Field(10, ge=2)
    pool_exam_fraction: float = Field(0.2, ge=0, le=1, description="share of Structure 1 sentences in the pool")
    corpus_exam_fraction: float = Field(0.2, ge=0, le=1, description="share of Structure 1 in the teacher corpus")
    # Default no-repeat: the paper defines Structure 1 by "two identical tokens never occur next to
    # each other" and Structure 2 by "tokens are sampled in pairs", and only this reading's lessons
    # give its Table 4 unigram overlap of 1.00 (docs/reproduction.md, Table 4, "Which reading").
    reading: Literal["alternation", "no-repeat"] = Field(
        "no-repeat",
        description="'no-repeat': Structure 1 = no two identical neighbours, Structure 2 = any tokens in "
        "pairs; 'alternation': Structure 1 = xyxy..., Structure 2 = xxyyxx... (two tokens, the strict "
        "reading of the paper's '(xy)^n')",
    )
    goals: bool = Field(
        False,
        strict=True,
        description="hidden per-student goals: each student's exams are Structure 1 or Structure 2, drawn per "
        "student and episode and never shown to a learning teacher; the exam sizes are per goal",
    )

    @model_validator(mode="after")
    def _lengths(self) -> StructuresParams:
        if self.min_length > self.max_length:
            raise ValueError(f"min_length {self.min_length} is larger than max_length {self.max_length}")
        if self.vocabulary_size is not None and self.vocabulary != DEFAULT_LISTS["exam_vocabulary"]:
            raise ValueError(
                f"give either vocabulary_size ({self.vocabulary_size}) or an explicit vocabulary, not both"
            )
        return self

    def tokens(self) -> list[str]:
        return list(self.vocabulary) if self.vocabulary_size is None else token_names(self.vocabulary_size)


class RandomParams(SplitSizes):
    vocabulary_size: int = Field(20, ge=2, le=MAX_VOCABULARY)
    sentence_length: int = Field(10, ge=1)


class TextParams(SplitSizes):
    """A subset of human language: real text, one source per domain (or per structure the user defines)."""

    teacher_corpus_size: int = Field(
        400, ge=1, description="sentences to pretrain the teacher's LM and to train the tokenizer on (only these)"
    )
    exam_size: int = Field(
        50, ge=1, description="sentences of the feedback exam (and of a fresh one): real text needs more than 10"
    )
    sources: dict[str, list[str]] | None = Field(
        None,
        description="label -> text files or folders of them: one label per domain (or per structure you define, "
        "e.g. questions vs statements); None = the shipped corpus (devils-dictionary, jargon-file)",
    )
    exam_domain: str | None = Field(None, description="the label the exams are drawn from; None = the first label")
    unit: Literal["sentence", "line", "paragraph"] = Field(
        "sentence",
        description="how text is cut: 'sentence' = at . ! ? within paragraphs (blank-line separated), "
        "'line' = each non-blank line is one sentence (pre-split text), 'paragraph' = each paragraph",
    )
    min_words: int = Field(5, ge=1, description="shorter sentences are skipped")
    max_words: int = Field(25, ge=1, description="longer sentences are skipped")
    max_tokens: int = Field(
        60,
        ge=2,
        description="sentences longer than this in subword tokens are skipped (keep it below the student's max_len)",
    )
    tokenizer_vocabulary: int = Field(
        1000, ge=260, le=MAX_VOCABULARY, description="target vocabulary of the byte-level BPE tokenizer"
    )
    encoding: str = Field("utf-8", description="text encoding of the source files")
    pool_exam_fraction: float = Field(0.5, ge=0, le=1, description="share of exam-domain sentences in the pool")
    corpus_exam_fraction: float = Field(0.5, ge=0, le=1, description="share of exam-domain sentences in the corpus")
    minimal_pairs: list[str] = Field(
        default_factory=list,
        description="BLiMP-format JSONL files (sentence_good, sentence_bad, optional phenomenon/field/UID) for "
        "the minimal-pairs exam; they replace the pairs made from the exam domain",
    )
    heldout_pairs_fraction: float = Field(
        0.2, gt=0, lt=1, description="share of the given minimal pairs kept for the held-out evaluation"
    )
    make_pairs: bool = Field(
        True,
        description="without minimal_pairs files: make pairs from exam-bank and held-out sentences (two adjacent "
        "words swapped; one word replaced by a word of another domain)",
    )

    @model_validator(mode="after")
    def _consistent(self) -> TextParams:
        import codecs

        try:
            codecs.lookup(self.encoding)
        except LookupError:
            raise ValueError(
                f"encoding {self.encoding!r} is not an encoding Python knows (e.g. utf-8, latin-1)"
            ) from None
        if self.min_words > self.max_words:
            raise ValueError(f"min_words {self.min_words} is larger than max_words {self.max_words}")
        if self.sources is not None:
            if len(self.sources) < 2:
                raise ValueError(
                    f"sources has {len(self.sources)} label(s); give at least two (the exam's domain and another)"
                )
            empty = [label for label, paths in self.sources.items() if not paths]
            if empty:
                raise ValueError(f"sources.{empty[0]} lists no file or folder")
        labels = self.labels()
        if self.exam_domain is not None and self.exam_domain not in labels:
            raise ValueError(f"exam_domain {self.exam_domain!r} is not one of the sources' labels {labels}")
        return self

    def labels(self) -> list[str]:
        return list(self.sources) if self.sources is not None else list(SHIPPED_CORPUS)


#: how to get the `text` environment's tokenizer (the project's optional extra)
TEXT_INSTALL_HINT = "pip install -e '.[text]'"

#: the shipped public-domain corpus (package data, see corpus/README.md): label -> file name
SHIPPED_CORPUS = {"devils-dictionary": "devils-dictionary.txt", "jargon-file": "jargon-file.txt"}


@hookimpl
def ilm_environments() -> Iterator[PluginSpec]:  # EnvironmentSpec is made at run time: not a type to mypy
    yield EnvironmentSpec(
        name="domains",
        summary="Task 1: V1 (a..j) vs V2 (k..t) sentences; the exam is V1 only",
        factory="ilm_plugins.environments.languages:DomainsEnvironment",
        params=DomainsParams,
        roadmap=(
            "environment.language.artificial.random",
            "environment.language.artificial.vocabulary-sizes",
            "task.teacher.select-optimal-data",
        ),
        capabilities=frozenset({Capability.JUDGES}),
    )
    yield EnvironmentSpec(
        name="structures",
        summary="Task 2: Structure 1 (single repetitions) vs Structure 2 (double repetitions) over V1",
        factory="ilm_plugins.environments.languages:StructuresEnvironment",
        params=StructuresParams,
        roadmap=(
            "environment.language.artificial.structures",
            "environment.language.artificial.vocabulary-sizes",
            "task.teacher.select-optimal-data",
        ),
        capabilities=frozenset({Capability.JUDGES}),
    )
    yield EnvironmentSpec(
        name="random",
        summary="uniformly random tokens: a sanity language where every lesson is as good as another",
        factory="ilm_plugins.environments.languages:RandomEnvironment",
        params=RandomParams,
        roadmap=("environment.language.artificial.random", "environment.language.artificial.vocabulary-sizes"),
        capabilities=frozenset({Capability.JUDGES}),
    )
    yield EnvironmentSpec(
        name="text",
        summary="real text split by domain (files or folders per domain; ships two public-domain books), BPE tokens",
        factory="ilm_plugins.environments.text:TextEnvironment",
        params=TextParams,
        roadmap=("environment.language.human-subset.semantics", "task.teacher.select-optimal-data"),
        requires=("tokenizers",),  # the BPE tokenizer: an optional extra, as only this environment needs it
        install_hint=TEXT_INSTALL_HINT,
    )
