"""Component scores: they add back up to the exam's score, travel in the feedback, are plotted by
`ilm report`, and a reference teacher learns from them."""

from __future__ import annotations

import json
import math
import random

import pytest
from conftest import TINY_ANY_TEACHER

from ilm_core import Feedback, Lesson, RoundContext, TeacherContext, set_up
from ilm_plugins.environments import StructuresParams
from ilm_plugins.environments.languages import StructuresEnvironment
from ilm_plugins.exams import MinimalPairsParams, PerplexityParams
from ilm_plugins.exams.minimal_pairs import MinimalPairsExam, flatten
from ilm_plugins.exams.perplexity import PerplexityExam
from ilm_plugins.exams.scoring import aggregate
from ilm_plugins.students import TransformerLMParams
from ilm_plugins.students.transformer_lm import TransformerLMStudent
from ilm_plugins.teachers import ValueBanditParams
from ilm_plugins.teachers.rewards import rewards
from ilm_plugins.teachers.value_bandit import ValueBanditTeacher


@pytest.fixture(scope="module")
def trained():
    data = StructuresEnvironment(StructuresParams()).build(6639)
    student = TransformerLMStudent(TransformerLMParams(dim=16, ffn=32, updates=15, lr=3e-3))
    lessons = [data.pool[:10], data.pool[10:20], data.pool[20:30]]
    return data, student.train(lessons, [1, 2, 3], len(data.vocabulary), "cpu")


def test_length_components_add_up_to_the_perplexity(trained):
    data, students = trained
    exam = PerplexityExam(PerplexityParams(components="length", length_bounds=[4, 7]))
    labels = exam.labels(data.exam_bank)
    assert set(labels) == {"length 01-04", "length 05-07", "length 08+"}
    for result in exam.score(students, data.exam_bank, labels):
        assert sum(c.weight for c in result.components.values()) == result.tokens
        assert aggregate(result.components, "perplexity") == pytest.approx(result.perplexity, rel=1e-9)
        assert len({round(c.score, 6) for c in result.components.values()}) == 3  # the parts differ


def test_phenomenon_components_add_up_to_the_accuracy(trained):
    data, students = trained
    items, labels = flatten(data.minimal_pairs)
    for result in MinimalPairsExam(MinimalPairsParams()).score(students, items, labels):
        assert set(result.components) == {"reordered-repeat", "doubled-token"}
        assert sum(c.weight for c in result.components.values()) == len(data.minimal_pairs)
        assert aggregate(result.components, "accuracy") == pytest.approx(result.accuracy, rel=1e-12)


def test_component_mean_counts_every_component_the_same():
    lesson = Lesson(student=0, indices=[0])
    ppl = Feedback(student=0, lesson=lesson, perplexity=5.0, components={"rare": math.e, "common": math.e**3})
    pairs = Feedback(student=0, lesson=lesson, perplexity=5.0, accuracy=0.9, components={"a": 1.0, "b": 0.5})
    assert rewards([ppl], "component_mean").item() == pytest.approx(-2.0)
    assert rewards([pairs], "component_mean").item() == pytest.approx(0.75)


def synthetic_feedback(lessons: list[Lesson], kind_a: set[int], rng: random.Random) -> list[Feedback]:
    """Sentences of kind A help a small component a lot, the others a big component a little:
    the token-weighted score prefers the others, the component mean prefers A."""
    out = []
    for lesson in lessons:
        n_a = sum(i in kind_a for i in lesson.indices)
        n_b = len(lesson.indices) - n_a
        short = 3 - 0.1 * n_a + rng.gauss(0, 0.02)  # log-perplexities of the components
        long = 3 - 0.03 * n_b + rng.gauss(0, 0.02)
        overall = (10 * short + 90 * long) / 100  # 10 and 90 tokens
        components = {"short": math.exp(short), "long": math.exp(long)}
        out.append(Feedback(student=lesson.student, lesson=lesson, perplexity=math.exp(overall), components=components))
    return out


@pytest.mark.parametrize("reward, prefers_a", [("component_mean", True), ("neg_log_perplexity", False)])
def test_value_bandit_learns_from_component_scores(reward, prefers_a):
    pool = [[i % 5 + 1, i % 3 + 1] for i in range(20)]
    kind_a = set(range(10))
    teacher = ValueBanditTeacher(ValueBanditParams(reward=reward))
    set_up(teacher,
        TeacherContext(
            vocabulary=list("abcdef"), teacher_corpus=[], pool=pool,
            budget=5, n_students=6, seed=3, episodes=40,
        )
    )  # fmt: skip
    rng = random.Random(0)
    for episode in range(40):
        teacher.learn(
            synthetic_feedback(
                teacher.select(RoundContext.one_round(n_students=6, episode=episode, size=5)), kind_a, rng
            )
        )
    best = set(teacher.scores().topk(5).indices.tolist())
    assert (best <= kind_a) if prefers_a else not (best & kind_a)


@pytest.mark.slow
def test_feedback_carries_components_and_the_report_plots_them(cli, tmp_path):
    out = tmp_path / "run"
    code, _, err = cli(
        "run", *TINY_ANY_TEACHER, "--env", "structures", "--teacher", "value-bandit",
        "--set", "teacher.reward=component_mean", "--set", "exam.components=length", "--out", str(out),
    )  # fmt: skip
    assert code == 0, err
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert all(k.startswith("feedback/length ") for k in records[0]["components"])
    code, _, err = cli("report", str(out), "--out", str(tmp_path / "report"))
    assert code == 0, err
    assert (tmp_path / "report" / "components.png").stat().st_size > 1000
