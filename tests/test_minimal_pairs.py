"""Minimal pairs: made from the artificial grammars, scored by BLiMP's protocol, as feedback or evaluation."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import ClassVar

import pytest
from conftest import TINY, small_run

from ilm_core import (
    ExamSpec,
    Experiment,
    Feedback,
    InteractionSpec,
    RoundResult,
    RunDir,
    TrainedStudents,
    hookimpl,
    resolve,
)
from ilm_plugins.environments import DomainsParams, StructuresParams
from ilm_plugins.environments.languages import DomainsEnvironment, StructuresEnvironment, is_single_repetition
from ilm_plugins.exams import MinimalPairsParams
from ilm_plugins.exams.minimal_pairs import Items, MinimalPairsExam, flatten
from ilm_plugins.interactions.all_at_once import AllAtOnce
from ilm_plugins.students import TransformerLMParams
from ilm_plugins.students.transformer_lm import TransformerLMStudent


def test_domains_pairs_swap_in_one_foreign_token():
    data = DomainsEnvironment(DomainsParams()).build(6639)
    assert len(data.minimal_pairs) == len(data.exam_bank) and len(data.heldout_minimal_pairs) == len(data.heldout_exam)
    for pair in data.minimal_pairs + data.heldout_minimal_pairs:
        assert all(t < 10 for t in pair.good) and len(pair.bad) == len(pair.good)
        changed = [i for i, (g, b) in enumerate(zip(pair.good, pair.bad, strict=True)) if g != b]
        assert len(changed) == 1 and pair.bad[changed[0]] >= 10
        assert pair.phenomenon == "foreign-token"


@pytest.mark.parametrize("reading", ["no-repeat", "alternation"])
def test_structures_pairs_break_structure_one(reading):
    data = StructuresEnvironment(StructuresParams(reading=reading)).build(4520)
    phenomena = Counter()
    for pair in data.minimal_pairs:
        assert is_single_repetition(pair.good) and not is_single_repetition(pair.bad)
        if pair.phenomenon == "reordered-repeat":
            assert Counter(pair.bad) == Counter(pair.good)  # the same tokens, violating the structure
        phenomena[pair.phenomenon] += 1
    assert phenomena["reordered-repeat"] > 0 and phenomena["doubled-token"] > 0


class Memoriser(TrainedStudents):
    """A student that has memorised some sentences: cheap on them, expensive on anything else."""

    def __init__(self, memory: list[list[int]]):
        self.memory = {tuple(s) for s in memory}

    @property
    def final_losses(self) -> list[float]:
        return [0.0]

    def sentence_nll(self, sentences):
        ntokens = [len(s) + 1 for s in sentences]
        return [
            [n * (0.1 if tuple(s) in self.memory else 3.0) for s, n in zip(sentences, ntokens, strict=True)]
        ], ntokens


def exam_on(data, **params) -> MinimalPairsExam:
    exam = MinimalPairsExam(MinimalPairsParams(**params))
    exam.attach(data)
    return exam


@pytest.mark.parametrize("env", [DomainsEnvironment(DomainsParams()), StructuresEnvironment(StructuresParams())])
def test_a_student_that_memorised_the_good_sentences_scores_one(env):
    data = env.build(1007)
    exam = exam_on(data, pairs_per_exam=None)
    items = exam.feedback_items(data.exam, data.exam_bank, 0, 1)
    [result] = exam.score(Memoriser([p.good for p in data.minimal_pairs]), items, exam.labels(items))
    assert result.accuracy == 1.0
    assert all(c.score == 1.0 for c in result.components.values())
    [blank] = exam.score(Memoriser([]), items, exam.labels(items))  # every sentence alike: ties count as wrong
    assert blank.accuracy == 0.0


def train(data, lessons, updates, seeds):
    student = TransformerLMStudent(TransformerLMParams(dim=16, ffn=32, updates=updates, lr=3e-3))
    return student.train(lessons, seeds, len(data.vocabulary), "cpu")


def test_untrained_students_score_about_half_and_trained_ones_learn_the_domain():
    data = DomainsEnvironment(DomainsParams()).build(4527)
    items, labels = flatten(data.minimal_pairs)
    exam = MinimalPairsExam(MinimalPairsParams())
    seeds = [1, 2, 3, 4]
    untrained = [r.accuracy for r in exam.score(train(data, [[]] * 4, 0, seeds), items, labels)]
    assert all(0.3 < a < 0.7 for a in untrained), untrained
    assert 0.4 < sum(untrained) / 4 < 0.6
    in_domain = [s for s, inside in zip(data.pool, data.pool_in_exam_domain, strict=True) if inside]
    trained = [r.accuracy for r in exam.score(train(data, [in_domain] * 2, 40, seeds[:2]), items, labels)]
    assert min(trained) > 0.9, trained


def test_fresh_pair_exams_differ_by_episode_and_repeat_by_seed():
    data = DomainsEnvironment(DomainsParams()).build(2)
    exam = exam_on(data, pairs_per_exam=10)
    a, b = exam.feedback_items([], [], 0, 11), exam.feedback_items([], [], 1, 12)
    assert len(a) == 20 and a != b and a == exam.feedback_items([], [], 0, 11)
    assert len(exam_on(data, pairs_per_exam=10, feedback="fixed").feedback_items([], [], 0, 11)) == 20
    assert exam.evaluations(0, 1).keys() == {"heldout-pairs"}
    on_sentences = exam_on(data, feedback_on="sentences")
    assert on_sentences.labels(on_sentences.feedback_items(data.exam, data.exam_bank, 0, 3)) is None
    assert on_sentences.evaluations(0, 1).keys() == {"pairs", "heldout-pairs"}


def read_metrics(path):
    return [json.loads(line) for line in (path / "metrics.jsonl").read_text().splitlines()]


def test_pairs_as_the_reward_of_a_run(cli, tmp_path):
    out = tmp_path / "run"
    code, _, err = cli(
        "run", *TINY, "--exam", "minimal-pairs", "--set", "teacher.reward=accuracy", "--env", "structures",
        "--set", "exam.pairs_per_exam=8", "--out", str(out),
    )  # fmt: skip
    assert code == 0, err
    records = read_metrics(out)
    for r in records:
        assert 0 <= r["accuracy_mean"] <= 1 and len(r["per_student"]["accuracy"]) == 3
        assert 0 <= r["evaluations"]["heldout-pairs_accuracy"] <= 1
        assert {k.split("/")[0] for k in r["components"]} == {"feedback", "heldout-pairs"}
        assert r["heldout_perplexity_mean"] > 1


def test_pairs_as_an_evaluation_beside_perplexity(cli, tmp_path):
    out = tmp_path / "run"
    code, _, err = cli(
        "run", *TINY, "--exam", "minimal-pairs", "--set", "exam.feedback_on=sentences", "--out", str(out)
    )
    assert code == 0, err
    record = read_metrics(out)[0]
    assert "accuracy_mean" not in record  # the feedback is perplexity
    assert set(record["evaluations"]) == {"pairs_accuracy", "heldout-pairs_accuracy"}


def test_an_accuracy_reward_without_pairs_is_a_clear_error(cli, tmp_path):
    code, _, err = cli("run", *TINY, "--set", "teacher.reward=accuracy", "--out", str(tmp_path / "run"))
    assert code == 2 and "minimal-pairs" in err and "Traceback" not in err


def test_old_records_keep_their_shape(cli, tmp_path):
    """A run without pairs or components writes exactly the fields it wrote before they existed."""
    code, _, err = cli("run", *TINY, "--out", str(tmp_path / "run"))
    assert code == 0, err
    record = read_metrics(tmp_path / "run")[0]
    assert not {"accuracy_mean", "evaluations", "components"} & set(record)


class BlimpNamed(MinimalPairsExam):
    """The pairs evaluation under a name that sorts before "feedback"."""

    def evaluations(self, episode: int, seed: int) -> dict[str, Items]:
        return {
            ("blimp" if name == "pairs" else name): items for name, items in super().evaluations(episode, seed).items()
        }


class Watching(AllAtOnce):
    """The paper's interaction, keeping which exams each student's report shows it."""

    shown: ClassVar[list[set[str]]] = []

    def feedback(self, result: RoundResult) -> list[Feedback]:
        Watching.shown += [set(r.exams) for r in result.reports]
        return super().feedback(result)


class Plugin:
    @staticmethod
    @hookimpl
    def ilm_exams() -> Iterator[ExamSpec]:
        yield ExamSpec(
            name="blimp-named", summary="test: pairs as 'blimp'", factory=BlimpNamed, params=MinimalPairsParams
        )

    @staticmethod
    @hookimpl
    def ilm_interactions() -> Iterator[InteractionSpec]:
        yield InteractionSpec(name="watching", summary="test: keeps what it is shown", factory=Watching)


def test_the_interaction_sees_the_feedback_exam_only_whatever_the_evaluations_are_called(registry, tmp_path):
    """Evaluations are recorded, never sent: the interaction (and the teacher through it) sees each
    student's feedback exam and nothing else, the held-out exam and every evaluation left out."""
    registry.register(Plugin, name="watching")
    Watching.shown = []
    raw = small_run(
        episodes=1,
        exam={"name": "blimp-named", "params": {"feedback_on": "sentences"}},
        interaction={"name": "watching"},
        teacher={"name": "random"},
    )
    Experiment(resolve(raw, registry), registry, RunDir(tmp_path / "run")).run()
    assert Watching.shown == [{"feedback"}, {"feedback"}]
    record = read_metrics(tmp_path / "run")[0]
    assert set(record["evaluations"]) == {"blimp_accuracy", "heldout-pairs_accuracy"}  # scored all the same
