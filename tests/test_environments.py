"""Reference environments: sizes, proportions, structures and disjoint data sets."""

from __future__ import annotations

import pytest

from ilm_core import ConfigError
from ilm_plugins.environments import DomainsParams, RandomParams, StructuresParams
from ilm_plugins.environments.languages import (
    DomainsEnvironment,
    RandomEnvironment,
    StructuresEnvironment,
    is_double_repetition,
    is_single_repetition,
)

SEEDS = [6639, 7519, 1007, 4520, 4527, 0, 1]
PARTS = ("teacher_corpus", "pool", "exam", "exam_bank", "heldout_exam")


def all_envs():
    yield DomainsEnvironment(DomainsParams())
    yield StructuresEnvironment(StructuresParams())
    yield StructuresEnvironment(StructuresParams(reading="no-repeat"))
    yield RandomEnvironment(RandomParams())


@pytest.mark.parametrize("seed", SEEDS)
def test_every_data_set_is_unique_and_disjoint(seed):
    for env in all_envs():
        data = env.build(seed)
        assert data.overlaps() == []
        for part in PARTS:
            sentences = [tuple(s) for s in getattr(data, part)]
            assert len(set(sentences)) == len(sentences), part


def test_domains_sizes_and_proportions():
    data = DomainsEnvironment(DomainsParams()).build(6639)
    assert len(data.pool) == 100 and len(data.exam) == 10 and len(data.teacher_corpus) == 100
    assert sum(data.pool_in_exam_domain) == 50
    v1 = set(range(10))
    for sentence, inside in zip(data.pool, data.pool_in_exam_domain, strict=True):
        assert len(sentence) == 10
        assert set(sentence) <= v1 if inside else not set(sentence) & v1
    assert all(set(s) <= v1 for s in data.exam + data.exam_bank + data.heldout_exam)
    assert sum(set(s) <= v1 for s in data.teacher_corpus) == 50


@pytest.mark.parametrize("reading", ["alternation", "no-repeat"])
def test_structures_obey_their_structure(reading):
    data = StructuresEnvironment(StructuresParams(reading=reading)).build(4520)
    assert sum(data.pool_in_exam_domain) == 20
    for sentence, inside in zip(data.pool, data.pool_in_exam_domain, strict=True):
        assert 2 <= len(sentence) <= 10
        assert is_single_repetition(sentence) if inside else is_double_repetition(sentence)
        if reading == "alternation":
            assert len(set(sentence)) <= 2
    for sentence in data.exam + data.exam_bank + data.heldout_exam:
        assert is_single_repetition(sentence)


def test_sizes_are_params_and_too_many_sentences_is_a_clear_error():
    data = DomainsEnvironment(DomainsParams(pool_size=40, pool_exam_fraction=0.25, exam_size=5)).build(1)
    assert len(data.pool) == 40 and sum(data.pool_in_exam_domain) == 10 and len(data.exam) == 5
    tiny = DomainsParams(exam_vocabulary=["a", "b"], sentence_length=2)
    with pytest.raises(ConfigError, match="cannot draw"):
        DomainsEnvironment(tiny).build(1)


def test_same_seed_same_data_other_seed_other_data():
    env = DomainsEnvironment(DomainsParams())
    assert env.build(3) == env.build(3)
    assert env.build(3).exam != env.build(4).exam


def test_vocabulary_size_twenty_is_the_paper_language():
    """vocabulary_size=20 (half to V1) builds exactly the default lists' data: the paper's numbers stay."""
    for seed in (6639, 1):
        assert DomainsEnvironment(DomainsParams(vocabulary_size=20)).build(seed) == DomainsEnvironment(
            DomainsParams()
        ).build(seed)
        sized = StructuresEnvironment(StructuresParams(vocabulary_size=10)).build(seed)
        assert sized == StructuresEnvironment(StructuresParams()).build(seed)


@pytest.mark.parametrize("size, share", [(100, 0.5), (1000, 0.5), (1000, 0.1)])
def test_vocabulary_size_and_domain_split_are_params(size, share):
    data = DomainsEnvironment(DomainsParams(vocabulary_size=size, exam_vocabulary_share=share)).build(4527)
    n_exam = round(size * share)
    assert len(data.vocabulary) == size and len(set(data.vocabulary)) == size
    assert data.overlaps() == []
    for sentence, inside in zip(data.pool, data.pool_in_exam_domain, strict=True):
        assert all(t < n_exam for t in sentence) if inside else all(t >= n_exam for t in sentence)
    # a large vocabulary is used, not just named
    assert len({t for s in data.teacher_corpus + data.pool for t in s}) > min(size, 400) // 2
    structures = StructuresEnvironment(StructuresParams(vocabulary_size=size)).build(4527)
    assert len(structures.vocabulary) == size and structures.overlaps() == []
    assert len(RandomEnvironment(RandomParams(vocabulary_size=size)).build(1).vocabulary) == size


@pytest.mark.parametrize(
    "params, field",
    [
        ({"vocabulary_size": 1}, "vocabulary_size"),
        ({"vocabulary_size": 10, "exam_vocabulary": ["a"]}, "exam_vocabulary"),
        ({"vocabulary_size": 3, "exam_vocabulary_share": 0.1}, "each domain needs"),
        ({"vocabulary_size": 30, "other_vocabulary": ["x", "y"]}, "other_vocabulary"),
    ],
)
def test_bad_vocabulary_params_are_refused(params, field):
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=field):
        DomainsParams(**params)


def test_a_resolved_vocabulary_size_validates_again():
    """Resolved configs hold every field (the default lists too): validating one again must pass."""
    for model in (DomainsParams(vocabulary_size=100, exam_vocabulary_share=0.3), StructuresParams(vocabulary_size=50)):
        assert type(model).model_validate(model.model_dump()) == model


def test_overlapping_domains_share_the_last_tokens_of_v1():
    data = DomainsEnvironment(DomainsParams(shared_tokens=8)).build(6639)
    v2_tokens = {t for s, in_v1 in zip(data.pool, data.pool_in_exam_domain, strict=True) if not in_v1 for t in s}
    assert v2_tokens <= set(range(2, 12)) and v2_tokens & set(range(2, 10)) and v2_tokens & {10, 11}
    assert {t for s in data.exam for t in s} <= set(range(10))
    with pytest.raises(ValueError, match="shared_tokens"):
        DomainsParams(shared_tokens=10)
