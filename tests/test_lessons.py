"""Generated lessons: the core checks them (naming the teacher), labels them for the metrics,
counts copies of exam and held-out sentences, and keeps what was sent in the run directory."""

from __future__ import annotations

import json
import random

import pytest
from conftest import small_run

from ilm_core import Lesson, PluginError, Teacher, TeacherSpec, hookimpl
from ilm_core.config import resolve
from ilm_core.lessons import LessonRules, generated_counts, keep_generated, read_generated
from ilm_core.loop import Experiment
from ilm_core.rundir import RunDir
from ilm_plugins.environments import DomainsParams
from ilm_plugins.environments.languages import DomainsEnvironment
from ilm_plugins.measures.exam_domain import exam_domain_fraction

SMALL = small_run(budget=4)


@pytest.fixture(scope="module")
def env_data():
    env = DomainsEnvironment(DomainsParams(pool_size=20, teacher_corpus_size=10, exam_bank_size=20, heldout_size=5))
    return env, env.build(3)


def rules(data) -> LessonRules:
    return LessonRules.of(data, teacher="my-generator", n_students=2, budget=4, max_length=10)


@pytest.mark.parametrize(
    ("sentences", "message"),
    [
        ([[1, 2, 20]], r"token id 20, outside the vocabulary 0\.\.19"),
        ([[1, 2], []], "generated sentence 1 is empty"),
        ([[1]] * 5, "has 5 sentences; the budget allows 1 to 4"),
        ([[1] * 11], "has 11 tokens; the environment's sentences have at most 10"),
    ],
)
def test_invalid_generated_lessons_are_rejected_naming_the_teacher(env_data, sentences, message):
    _, data = env_data
    lessons = [Lesson(student=0, sentences=[[1, 2]]), Lesson(student=1, sentences=sentences)]
    with pytest.raises(PluginError, match=f"teacher plugin 'my-generator' sent an invalid lesson: lesson 1.*{message}"):
        rules(data).check(lessons)


def test_pool_and_generated_sentences_share_the_budget(env_data):
    _, data = env_data
    rules(data).check([Lesson(student=i, indices=[0, 1], sentences=[[1, 2], [3]]) for i in range(2)])
    with pytest.raises(PluginError, match="5 sentences"):
        rules(data).check([Lesson(student=i, indices=[0, 1, 2], sentences=[[1, 2], [3]]) for i in range(2)])
    with pytest.raises(PluginError, match="has 0 sentences"):
        rules(data).check([Lesson(student=i) for i in range(2)])


def test_generated_sentences_are_labelled_and_copies_counted(env_data):
    env, data = env_data
    v1, v2 = [0] * 10, [15] * 10
    lesson = Lesson(student=0, sentences=[v1, v2, data.exam[0], data.heldout_exam[1], data.pool[0]])
    assert exam_domain_fraction(lesson, data.pool_in_exam_domain, env.label) == pytest.approx(
        (1 + 0 + 1 + 1 + data.pool_in_exam_domain[0]) / 5
    )
    counts = generated_counts([lesson, Lesson(student=1, indices=[0])], data, env.label)
    assert counts["generated"] == [5, 0]
    assert counts["generated_exam_copies"] == [1, 0]
    assert counts["generated_heldout_copies"] == [1, 0]
    assert counts["generated_known_copies"] == [1, 0]
    assert counts["generated_unlabelled"] == [0, 0]
    assert generated_counts([Lesson(student=0, indices=[1])], data, env.label) == {}


class V1Writer(Teacher):
    """Generates random V1 sentences (ids 0..9), one pool sentence beside them."""

    def __init__(self, params=None):
        self.params = params

    def setup(self, context):
        self.rng = random.Random(context.seed)

    def select(self, context):
        def sentence():
            return [self.rng.randrange(10) for _ in range(10)]

        n = context.n_students
        return [Lesson(student=i, indices=[i], sentences=[sentence() for _ in range(3)]) for i in range(n)]


class OovWriter(V1Writer):
    def select(self, context):
        return [Lesson(student=i, sentences=[[0, 99]]) for i in range(context.n_students)]


class Plugins:
    @hookimpl
    def ilm_teachers(self):
        yield TeacherSpec(name="v1-writer", summary="writes V1 sentences", factory=V1Writer)
        yield TeacherSpec(name="oov-writer", summary="writes a token outside the vocabulary", factory=OovWriter)


def test_a_run_keeps_and_measures_what_a_generating_teacher_sent(registry, tmp_path):
    registry.register(Plugins(), name="generators")
    run = tmp_path / "gen"
    summary = Experiment(resolve({**SMALL, "teacher": "v1-writer"}, registry), registry, RunDir(run)).run()
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    for record in records:
        per = record["per_student"]
        assert per["generated"] == [3, 3]
        assert record["tokens_sent"] == 2 * 40
        # three V1 sentences and one pool sentence of either domain
        assert all(f in (0.75, 1.0) for f in per["fraction_exam_domain"])
        assert record["overlap"]["unigram"] >= 0.75
    sent = read_generated(run / "lessons" / "episode-00001.json")
    assert len(sent) == 2 and all(len(s) == 3 and all(0 <= t < 10 for x in s for t in x) for s in sent)
    assert summary["generated"] == 2 * 2 * 3
    assert summary["generated_heldout_copies"] == 0


def test_a_run_stops_at_an_out_of_vocabulary_lesson_naming_the_teacher(registry, tmp_path):
    registry.register(Plugins(), name="generators")
    cfg = resolve({**SMALL, "teacher": "oov-writer"}, registry)
    with pytest.raises(PluginError, match=r"teacher plugin 'oov-writer' sent an invalid lesson: .*token id 99") as info:
        Experiment(cfg, registry, RunDir(tmp_path / "oov")).run()
    assert info.value.plugin == "oov-writer"


def test_keeping_generated_lessons_notices_every_exam_and_held_out_copy(tmp_path):
    """One student copied an exam sentence, the other two held-out ones: the notice counts all three."""
    lessons = [Lesson(student=0, sentences=[[1, 2]]), Lesson(student=1, sentences=[[3], [4]])]
    counts: dict[str, list[float | None]] = {
        "generated_exam_copies": [1.0, 0.0],
        "generated_heldout_copies": [0.0, 2.0],
    }
    notices: list[str] = []
    path = keep_generated(tmp_path, 7, lessons, counts, notices.append)
    assert notices == ["episode 7: the teacher generated 3 sentence(s) of the exam or held-out exam"]
    assert path is not None and read_generated(path) == [[[1, 2]], [[3], [4]]]
    assert keep_generated(
        tmp_path, 8, lessons, {"generated_exam_copies": [0.0], "generated_heldout_copies": [0.0]}, notices.append
    )
    assert len(notices) == 1  # nothing copied, nothing said


def test_the_environments_declared_sentence_length_bounds_lessons_and_else_its_longest_sentence(env_data):
    _, data = env_data
    longest = max(
        len(s) for part in (data.teacher_corpus, data.pool, data.exam, data.exam_bank, data.heldout_exam) for s in part
    )
    assert LessonRules.of(data, teacher="t", n_students=2, budget=4).max_length == longest
    assert LessonRules.of(data, teacher="t", n_students=2, budget=4, max_length=longest + 7).max_length == longest + 7
