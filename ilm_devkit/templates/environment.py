"""`ilm new-plugin --kind environment`: Task 1's two domains with a vocabulary size to choose."""

SUMMARY = "two domains over a vocabulary of a chosen size (first half = the exam's domain)"
RUN_EXAMPLE = "ilm run --env ${name} --teacher select-bin --set environment.vocabulary_size=40"

MODULE = '''\
"""${dist}: the environment `${name}`.

Random sentences over one of two halves of a vocabulary of `vocabulary_size` letters: the
exam is drawn from the first half only, the pool from both (the paper's Task 1, with the
vocabulary size as a knob). All data sets come from one stream of unique sentences, so they
never overlap (ilm checks that).
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable, Iterator

from ilm_core import ConfigError, Environment, EnvironmentData, EnvironmentSpec, hookimpl
from pydantic import BaseModel, ConfigDict, Field

Sentence = list[int]


class ${params}(BaseModel):
    """Params of `${name}` (set with --set environment.NAME=VALUE)."""

    model_config = ConfigDict(extra="forbid")

    vocabulary_size: int = Field(
        20, ge=2, le=52, description="letters in the vocabulary; the first half is the exam's domain"
    )
    sentence_length: int = Field(10, ge=1)
    pool_size: int = Field(100, ge=1, description="sentences the teacher can select from")
    pool_exam_fraction: float = Field(0.5, ge=0, le=1, description="share of exam-domain sentences in the pool")
    teacher_corpus_size: int = Field(100, ge=0, description="sentences to pretrain the teacher's LM")
    exam_size: int = Field(10, ge=1, description="sentences of the feedback exam")
    exam_bank_size: int = Field(200, ge=0, description="exam-domain sentences for fresh feedback exams")
    heldout_size: int = Field(50, ge=0, description="held-out final exam, never seen by a teacher")


class ${cls}(Environment):
    """Builds the vocabulary, teacher corpus, pool (with domain labels) and exams."""

    def __init__(self, params: ${params}):
        self.params = params

    def build(self, seed: int) -> EnvironmentData:
        p = self.params
        rng = random.Random(seed)
        half = p.vocabulary_size // 2
        used: set[tuple[int, ...]] = set()

        def domain(low: int, high: int) -> Callable[[], Sentence]:
            return lambda: [rng.randrange(low, high) for _ in range(p.sentence_length)]

        def draw(make: Callable[[], Sentence], n: int) -> list[Sentence]:
            out: list[Sentence] = []
            for _ in range(100 * n + 1000):
                if len(out) == n:
                    break
                sentence = make()
                if tuple(sentence) not in used:
                    used.add(tuple(sentence))
                    out.append(sentence)
            if len(out) < n:
                raise ConfigError(
                    f"environment '${name}' cannot draw {n} distinct sentences of length "
                    f"{p.sentence_length}; make sentences longer or the data sets smaller"
                )
            return out

        inside, outside = domain(0, half), domain(half, p.vocabulary_size)
        exam, heldout, bank = draw(inside, p.exam_size), draw(inside, p.heldout_size), draw(inside, p.exam_bank_size)
        n_in = round(p.pool_size * p.pool_exam_fraction)
        labelled = [(s, True) for s in draw(inside, n_in)] + [(s, False) for s in draw(outside, p.pool_size - n_in)]
        rng.shuffle(labelled)
        n_corpus = p.teacher_corpus_size // 2
        corpus = draw(inside, n_corpus) + draw(outside, p.teacher_corpus_size - n_corpus)
        rng.shuffle(corpus)
        return EnvironmentData(
            vocabulary=list(string.ascii_letters[: p.vocabulary_size]),
            exam_domain=f"the first {half} letters",
            teacher_corpus=corpus,
            pool=[s for s, _ in labelled],
            pool_in_exam_domain=[label for _, label in labelled],
            exam=exam,
            exam_bank=bank,
            heldout_exam=heldout,
        )


@hookimpl
def ilm_environments() -> Iterator[EnvironmentSpec]:
    yield EnvironmentSpec(
        name="${name}",
        summary="${summary}",
        factory=${cls},
        params=${params},
        roadmap=("environment.language.artificial.vocabulary-sizes", "task.teacher.select-optimal-data"),
    )


# A step that is not in the road map yet? Add a cell, then name its id in roadmap= above:
#
# from ilm_core import RoadmapCell
#
# @hookimpl
# def ilm_roadmap_cells() -> Iterator[RoadmapCell]:
#     yield RoadmapCell(
#         id="environment.language.my-new-language", component="environment", group="language",
#         text="What the new language is, in one sentence", parent="environment.language.artificial",
#     )
'''

TEST = '''\
"""Tests of `${name}`, registered in-process (no install needed)."""

from ilm_devkit.testing import plugin_registry, run_tiny

import ${module}


def test_builds_disjoint_labelled_data():
    env = plugin_registry(${module}).build("environment", "${name}", {"vocabulary_size": 8, "pool_size": 40})
    data = env.build(seed=3)
    assert data.overlaps() == []
    assert len(data.pool) == 40 and sum(data.pool_in_exam_domain) == 20
    assert all(t < 4 for sentence in data.exam for t in sentence)


def test_same_seed_same_data():
    env = plugin_registry(${module}).build("environment", "${name}", {})
    assert env.build(seed=5) == env.build(seed=5)


def test_a_tiny_run_on_it(tmp_path):
    params = {"pool_size": 30, "teacher_corpus_size": 10, "exam_bank_size": 10, "heldout_size": 5}
    run = run_tiny(${module}, out=tmp_path, environment={"name": "${name}", "params": params})
    assert run.records[0]["perplexity_mean"] > 1
'''
