"""Mixed populations: groups of students with their own plugin and prior knowledge in one run,
descriptors for the teacher, bad declarations refused, resume with kept students exact."""

from __future__ import annotations

import json
from typing import ClassVar

import pytest

from ilm_core import ConfigError, Feedback, Lesson, RoundContext, TeacherSpec, hookimpl
from ilm_core.config import resolve
from ilm_core.loop import Experiment
from ilm_core.rundir import RunDir
from ilm_plugins.teachers.baselines import RandomTeacher

SMALL = {
    "episodes": 2,
    "n_students": 4,
    "budget": 4,
    "student_lifetime": "run",
    "student": {"name": "transformer-lm", "params": {"updates": 3, "dim": 16, "ffn": 32}},
    "environment": {
        "name": "domains",
        "params": {"pool_size": 30, "teacher_corpus_size": 10, "exam_bank_size": 20, "heldout_size": 5},
    },
    "population": [
        {"name": "native", "count": 2},
        {
            "name": "lstm-v2",
            "count": 2,
            "student": {"name": "lstm-lm", "params": {"updates": 3, "dim": 16}},
            "prior": "other-domain",
            "prior_sentences": 5,
        },
    ],
}


class Recorder(RandomTeacher):
    seen: ClassVar[list] = []

    def setup(self, context):
        super().setup(context)
        Recorder.seen = list(context.students)


class Plugins:
    @hookimpl
    def ilm_teachers(self):
        yield TeacherSpec(name="recorder", summary="keeps its descriptors", factory=Recorder)


def records(path) -> list[dict]:
    return [json.loads(line) for line in (path / "metrics.jsonl").read_text().splitlines()]


def test_a_mixed_population_runs_and_the_teacher_sees_each_students_kind(registry, tmp_path):
    registry.register(Plugins(), name="recorder")
    Experiment(resolve({**SMALL, "teacher": "recorder"}, registry), registry, RunDir(tmp_path / "r")).run()
    assert [(d.group, d.student, d.prior) for d in Recorder.seen] == [
        ("native", "transformer-lm", "none"),
        ("native", "transformer-lm", "none"),
        ("lstm-v2", "lstm-lm", "other-domain"),
        ("lstm-v2", "lstm-lm", "other-domain"),
    ]
    for record in records(tmp_path / "r"):
        assert record["per_student"]["population_group"] == [0.0, 0.0, 1.0, 1.0]
        assert len(record["per_student"]["heldout_perplexity"]) == 4


def test_a_uniform_run_describes_every_student_alike(registry, tmp_path):
    registry.register(Plugins(), name="recorder")
    raw = {k: v for k, v in SMALL.items() if k not in ("population", "student_lifetime")}
    Experiment(resolve({**raw, "teacher": "recorder"}, registry), registry, RunDir(tmp_path / "r")).run()
    assert {(d.group, d.student) for d in Recorder.seen} == {("all", "transformer-lm")}
    assert "population_group" not in records(tmp_path / "r")[0]["per_student"]


def test_prior_knowledge_shows_before_any_lesson(registry, tmp_path):
    """Students that learned V1 sentences first beat naive ones taught alike (same initialisation)."""
    raw = {**SMALL, "episodes": 1, "teacher": "oracle", "student_init": "shared"}
    raw["population"] = [
        {"name": "naive", "count": 2},
        {"name": "v1", "count": 2, "prior": "exam-domain", "prior_sentences": 12},
    ]
    raw["student"] = {"name": "transformer-lm", "params": {"updates": 10, "dim": 16, "ffn": 32, "lr": 3e-3}}
    Experiment(resolve(raw, registry), registry, RunDir(tmp_path / "r")).run()
    ppl = records(tmp_path / "r")[0]["per_student"]["heldout_perplexity"]
    assert max(ppl[2:]) < min(ppl[:2])


@pytest.mark.parametrize(
    ("population", "message"),
    [
        ([{"name": "a", "count": 3}], r"population groups hold 3 = 3 students but n_students = 4"),
        ([{"name": "a", "count": 2}, {"name": "a", "count": 2}], "names must differ"),
        ([{"name": "a", "count": 4, "student": {"name": "lstm-lm", "params": {"dimm": 3}}}], "dimm"),
    ],
)
def test_bad_populations_are_config_errors(registry, population, message):
    with pytest.raises(ConfigError, match=message):
        resolve({**SMALL, "teacher": "random", "population": population}, registry)


def test_resume_of_a_mixed_population_with_kept_students_is_exact(registry, tmp_path):
    raw = {**SMALL, "episodes": 4, "checkpoint_every": 2, "teacher": "student-model"}
    full, cut = tmp_path / "full", tmp_path / "cut"
    for path in (full, cut):
        Experiment(resolve(raw, registry), registry, RunDir(path)).run()
    # undo the second half of `cut`: its last checkpoint, records and summary
    (cut / "summary.json").unlink()
    newest = sorted((cut / "checkpoints").iterdir())[-1]
    newest.unlink()
    lines = (cut / "metrics.jsonl").read_text().splitlines()[:2]
    (cut / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    Experiment(resolve(raw, registry), registry, RunDir(cut)).run(resume=True)
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in records(full)]
    assert [{k: v for k, v in r.items() if k != "seconds"} for r in records(cut)] == strip


def test_a_reference_teaches_each_kind_its_own_lessons(registry, tmp_path):
    teachers = {"native": {"name": "oracle"}, "lstm-v2": {"name": "worst-case"}}
    raw = {**SMALL, "teacher": {"name": "by-group", "params": {"teachers": teachers}}}
    Experiment(resolve(raw, registry), registry, RunDir(tmp_path / "r")).run()
    for record in records(tmp_path / "r"):
        assert record["per_student"]["fraction_exam_domain"] == [1.0, 1.0, 0.0, 0.0]
    bad = {**raw, "teacher": {"name": "by-group", "params": {"teachers": {"native": {"name": "oracle"}}}}}
    with pytest.raises(ConfigError, match=r"groups \['lstm-v2'\] without a teacher"):
        Experiment(resolve(bad, registry), registry, RunDir(tmp_path / "bad")).run()


def test_a_group_teacher_sees_its_round_with_its_own_students_only():
    """by-group hands each group's teacher the round as that group sees it: its students, renumbered."""
    from ilm_plugins.teachers.take_turns import group_round

    sent = [[0], [1, 2], [3], [4, 5]]
    feedback = [
        [Feedback(student=i, lesson=Lesson(student=i, indices=s), perplexity=10.0 + i) for i, s in enumerate(sent)]
    ]
    context = RoundContext(episode=3, round=1, rounds=2, size=2, n_students=4, sent=sent, feedback=feedback)
    mine = group_round(context, [1, 3])
    assert (mine.episode, mine.round, mine.size, mine.n_students) == (3, 1, 2, 2)
    assert mine.sent == [[1, 2], [4, 5]]
    assert [(f.student, f.lesson.student, f.lesson.indices, f.perplexity) for f in mine.feedback[0]] == [
        (0, 0, [1, 2], 11.0),
        (1, 1, [4, 5], 13.0),
    ]


@pytest.mark.parametrize(
    ("lifetime", "episode_1"),
    [("episode", ["lesson", "prior", "lesson", "lesson", "lesson"]), ("run", ["lesson", "lesson", "lesson", "lesson"])],
    ids=["episode", "run"],
)
def test_each_episode_starts_with_fresh_students_unless_they_are_kept_for_the_run(
    registry, tmp_path, monkeypatch, lifetime, episode_1
):
    """Students kept for an episode are new in its first round, so a group with prior knowledge learns its
    prior lesson then, and only then (never in a later round); students kept for the run learn it once."""
    from ilm_plugins.executors.local import SequentialExecutor

    jobs: list[tuple[str, str | None]] = []
    run = SequentialExecutor.run

    def spy(self, job):
        prior = not job.exams and job.lessons == [experiment.priors["lstm-v2"]] * len(job.seeds)
        jobs.append(("prior" if prior else "lesson", job.cohort))
        return run(self, job)

    monkeypatch.setattr(SequentialExecutor, "run", spy)
    raw = {**SMALL, "teacher": "random", "student_lifetime": lifetime, "executor": {"name": "sequential"}}
    raw["interaction"] = {"name": "send-in-batches", "params": {"rounds": 2}}
    experiment = Experiment(resolve(raw, registry), registry, RunDir(tmp_path / "r"))
    experiment.run()
    # per round: the native group's job, then the lstm-v2 group's (its prior lesson first when fresh)
    assert [kind for kind, _ in jobs] == ["lesson", "prior", "lesson", "lesson", "lesson", *episode_1]
    if lifetime == "episode":  # episode 1's students are not episode 0's
        assert {cohort for _, cohort in jobs[:5]} == {"episode-0/native", "episode-0/lstm-v2"}
        assert {cohort for _, cohort in jobs[5:]} == {"episode-1/native", "episode-1/lstm-v2"}


def test_in_one_round_only_the_group_with_prior_knowledge_is_kept_from_its_prior_lesson_to_its_lesson(
    registry, tmp_path, monkeypatch
):
    """With one round an episode and students that live for it, nothing is kept, except the students of a
    group with prior knowledge: its prior lesson and its lesson name one cohort, the other group's none."""
    from ilm_plugins.executors.local import SequentialExecutor

    jobs: list[tuple[bool, str | None, bool, bool]] = []
    run = SequentialExecutor.run

    def spy(self, job):
        jobs.append((not job.exams, job.cohort, job.continued, job.release))
        return run(self, job)

    monkeypatch.setattr(SequentialExecutor, "run", spy)
    raw = {**SMALL, "teacher": "random", "student_lifetime": "episode", "episodes": 1}
    raw["executor"] = {"name": "sequential"}
    Experiment(resolve(raw, registry), registry, RunDir(tmp_path / "r")).run()
    assert jobs == [
        (False, None, False, False),  # native: made, taught, examined, forgotten
        (True, "episode-0/lstm-v2", False, False),  # the prior lesson makes the group's students
        (False, "episode-0/lstm-v2", True, True),  # its lesson trains those same students, then releases them
    ]


@pytest.mark.parametrize(("prior", "inside"), [("exam-domain", True), ("other-domain", False)])
def test_a_prior_lesson_is_drawn_from_its_side_of_the_pool_and_refused_when_the_pool_is_short(prior, inside):
    from ilm_core.population import PopulationGroup, prior_lesson
    from ilm_plugins.environments import DomainsParams
    from ilm_plugins.environments.languages import DomainsEnvironment

    data = DomainsEnvironment(DomainsParams(**SMALL["environment"]["params"])).build(3)
    pool_labels = data.require_labels(None, "the test")
    side = {tuple(s) for s, label in zip(data.pool, pool_labels, strict=True) if label == inside}
    available = sum(label == inside for label in pool_labels)
    group = PopulationGroup(name="g", count=1, prior=prior, prior_sentences=available)
    lesson = prior_lesson(group, data, seed=5)  # every sentence of that side
    assert len(lesson) == available and all(tuple(s) in side for s in lesson)
    with pytest.raises(
        ConfigError, match=rf"asks for {available + 1} {prior} prior sentences, the pool has {available}"
    ):
        prior_lesson(group.model_copy(update={"prior_sentences": available + 1}), data, seed=5)
