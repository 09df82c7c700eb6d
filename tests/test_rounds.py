"""Students persist across rounds on every executor, and the loop runs several-round episodes alike.

After round 2 a student's weights must be those of its round-1 weights trained further on the
round-2 lesson (with its optimiser state), not of a fresh student trained on round 2 alone.
"""

from __future__ import annotations

import math
import random
import re
from pathlib import Path
from typing import Any

import pytest
import torch
from conftest import small_run, tiny_student

from ilm_core import (
    ComponentRef,
    ExecutorContext,
    ExecutorSpec,
    Round,
    StudentReport,
    StudentSpec,
    TrainingJob,
    hookimpl,
    set_up,
)
from ilm_core.config import resolve
from ilm_core.errors import PluginError
from ilm_core.loop import Experiment
from ilm_core.registry import Registry
from ilm_core.rundir import RunDir
from ilm_core.training import StudentTrainer
from ilm_plugins.executors.local import SequentialExecutor
from ilm_plugins.students import NATIVE, SelectUsefulParams, TransformerLMParams
from ilm_plugins.students.choosing import SelectingStudents, SelectUsefulStudent
from ilm_plugins.students.transformer_lm import StackedStudents, TransformerLMStudent

V = 12
N = 5
STUDENT = {"dim": 16, "ffn": 32, "heads": 2, "updates": 6}
EXECUTORS = [
    ("sequential", {}),
    ("batched", {"max_group": 3, "lanes": 1}),
    ("multiprocess", {"devices": "cpu,cpu"}),
]


def lessons(seed: int) -> list[list[list[int]]]:
    rng = random.Random(seed)
    return [[[rng.randrange(V) for _ in range(rng.randint(3, 7))] for _ in range(3)] for _ in range(N)]


def job(seed: int, cohort: str | None = "c", release: bool = False) -> TrainingJob:
    rng = random.Random(99)
    return TrainingJob(
        student=ComponentRef(name="transformer-lm", params=STUDENT),
        exam=ComponentRef(name="perplexity"),
        vocab_size=V,
        lessons=lessons(seed),
        seeds=[500 + i for i in range(N)],
        exams={"feedback": [[rng.randrange(V) for _ in range(5)] for _ in range(4)]},
        cohort=cohort,
        release=release,
    )


def per_student(state: dict[str, Any]) -> dict[int, dict[str, torch.Tensor]]:
    """A saved cohort (groups keyed by their student ids) as each student's own weights."""
    out: dict[int, dict[str, torch.Tensor]] = {}
    for key, group in state.items():
        for j, sid in enumerate(int(i) for i in key.split(",")):
            out[sid] = {name: t[j] for name, t in group["model"].items()}
    return out


def distance(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    return max(float((a[k] - b[k]).abs().max()) for k in a)


def reference() -> tuple[dict[int, dict[str, torch.Tensor]], dict[int, dict[str, torch.Tensor]]]:
    """All students as one stack trained round after round, and fresh students trained on round 2 only."""
    student = TransformerLMStudent(TransformerLMParams(**STUDENT))
    seeds = [500 + i for i in range(N)]
    kept = student.create(seeds, V, "cpu")
    kept.train(lessons(1))
    kept.train(lessons(2))
    fresh = student.create(seeds, V, "cpu")
    fresh.train(lessons(2))
    return per_student({",".join(map(str, range(N))): kept.state_dict()}), per_student(
        {",".join(map(str, range(N))): fresh.state_dict()}
    )


@pytest.mark.slow
def test_every_executor_keeps_its_students_between_rounds(registry: Registry) -> None:
    two_rounds, round_two_only = reference()
    perplexities = {}
    for name, params in EXECUTORS:
        executor = registry.build("executor", name, params)
        set_up(
            executor,
            ExecutorContext(
                registry=registry, student=job(1).student, n_students=N, device="cpu", notify=lambda m: None
            ),
        )
        try:
            first = executor.run(job(1))
            after_one = per_student(executor.save_students("c"))
            second = executor.run(job(2))
            after_two = per_student(executor.save_students("c"))
            executor.run(job(3, release=True))
            assert executor.save_students("c") == {}, f"{name}: a released cohort must be gone"
        finally:
            executor.close()
        assert sorted(after_two) == list(range(N))
        for i in range(N):
            moved = distance(after_two[i], after_one[i])
            assert moved > 1e-3, f"{name}: student {i} did not train in round 2"
            assert distance(after_two[i], two_rounds[i]) < 1e-4, (
                f"{name}: student {i} is not its round-1 self trained on"
            )
            assert distance(after_two[i], round_two_only[i]) > 1e-2, f"{name}: student {i} looks freshly initialised"
        perplexities[name] = [r.exams["feedback"].perplexity for r in first + second]
    for name, values in perplexities.items():
        for a, b in zip(values, perplexities["sequential"], strict=True):
            assert math.isclose(a, b, rel_tol=1e-4), (name, a, b)


def test_a_job_without_cohort_keeps_nothing(registry: Registry) -> None:
    executor = registry.build("executor", "sequential", {})
    set_up(
        executor,
        ExecutorContext(registry=registry, student=job(1).student, n_students=N, device="cpu", notify=lambda m: None),
    )
    a = executor.run(job(1, cohort=None))
    b = executor.run(job(1, cohort=None))
    assert [r.exams["feedback"].perplexity for r in a] == [r.exams["feedback"].perplexity for r in b]
    assert executor.trainer.cohorts == {}


TINY_RUN = small_run(
    n_students=3,
    budget=6,
    student=tiny_student(3),
    teacher={"name": "value-bandit"},
    interaction={"name": "send-in-batches", "params": {"rounds": 3}},
)


def run_records(registry: Registry, out: Path, **changes: Any) -> list[dict[str, Any]]:
    import json

    raw = {**TINY_RUN, **changes}
    Experiment(resolve(raw, registry), registry, RunDir(out)).run()
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_executors_agree_over_several_round_episodes(registry: Registry, tmp_path: Path) -> None:
    runs = {
        name: run_records(registry, tmp_path / name, executor={"name": name, "params": params})
        for name, params in EXECUTORS
    }
    for name, records in runs.items():
        for got, want in zip(records, runs["sequential"], strict=True):
            assert [r["size"] for r in got["rounds"]] == [2, 2, 2]
            assert got["fraction_exam_domain"] == want["fraction_exam_domain"], name  # the same lessons
            for a, b in zip(
                [r["perplexity_mean"] for r in got["rounds"]] + got["per_student"]["heldout_perplexity"],
                [r["perplexity_mean"] for r in want["rounds"]] + want["per_student"]["heldout_perplexity"],
                strict=True,
            ):
                assert math.isclose(a, b, rel_tol=1e-4), (name, a, b)


def test_rounds_see_earlier_feedback_and_never_resend(registry: Registry, tmp_path: Path) -> None:
    """The teacher gets each round's feedback before it chooses the next batch; no student gets a sentence twice."""
    from ilm_plugins.teachers.value_bandit import ValueBanditTeacher

    seen: list[tuple[int, int, int]] = []
    original = ValueBanditTeacher.select

    def spy(self, context):
        seen.append((context.round, len(context.feedback), sum(map(len, context.sent))))
        assert all(len(set(sent)) == len(sent) for sent in context.sent)  # what the loop sent: no repeats
        return original(self, context)

    ValueBanditTeacher.select = spy
    try:
        records = run_records(registry, tmp_path / "run", episodes=1)
    finally:
        ValueBanditTeacher.select = original
    assert seen == [(0, 0, 0), (1, 1, 6), (2, 2, 12)]
    assert records[0]["tokens_sent"] > 0 and len(records[0]["rounds"]) == 3
    assert records[0]["teacher"]["lessons_remembered"] == 9.0  # learned from all three rounds


def test_a_restored_group_continues_exactly_as_the_original() -> None:
    """Weights, Adam moments, schedule step, samplers and dropout masks all come back."""
    student = TransformerLMStudent(TransformerLMParams(**{**STUDENT, "dropout": 0.2, "batch_size": 2, "warmup": 4}))
    seeds = [500 + i for i in range(N)]
    original = student.create(seeds, V, "cpu")
    original.train(lessons(1))
    saved = original.state_dict()
    original.train(lessons(2))
    restored = student.create(seeds, V, "cpu")
    restored.load_state_dict(saved)
    restored.train(lessons(2))
    for a, b in zip(original.model.parameters(), restored.model.parameters(), strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize(
    ("plan", "rule"),
    [
        ([Round(size=2, exam="final"), Round(size=2, exam="final")], "round 0 of 2 has exam = 'final'"),
        (
            [Round(size=2, exam="none"), Round(size=2, exam="mid-term")],
            "the last of its 2 rounds has exam = 'mid-term'; the last round must have exam = 'final'",
        ),
    ],
)
def test_only_the_last_round_takes_the_final_exam(plan: list[Round], rule: str) -> None:
    from ilm_core.errors import ConfigError
    from ilm_core.protocol import check_plan

    with pytest.raises(ConfigError, match=re.escape(rule)):
        check_plan(plan, budget=4, name="two-finals", params={})
    assert check_plan([Round(size=2, exam="mid-term"), Round(size=2)], budget=4, name="ok", params={})


def test_what_each_student_reports_adds_up_over_the_rounds_of_an_episode(registry: Registry, tmp_path: Path) -> None:
    """A student's stats and the sentences it chose to train on are summed over the episode's rounds, per
    student: three rounds of 3, 2 and 2 sentences, of which a student keeping half trains on 2, 1 and 1."""
    student = {"name": "select-useful", "params": {**tiny_student(2)["params"], "keep": 0.5}}
    records = run_records(registry, tmp_path / "run", episodes=1, budget=7, student=student)
    assert [r["size"] for r in records[0]["rounds"]] == [3, 2, 2]
    per_student = records[0]["per_student"]
    assert per_student["kept"] == [4.0, 4.0, 4.0]  # the students' own stat: 2 + 1 + 1
    assert per_student["sentences_used"] == [4.0, 4.0, 4.0]  # the pool sentences the core saw them train on


def student_plugin(name: str, factory: Any, params: Any = SelectUsefulParams) -> Any:
    """A plugin of one test student, with the native students' capabilities."""

    class Plugin:
        @hookimpl
        def ilm_students(self) -> Any:
            yield StudentSpec(name=name, summary=f"test: {name}", factory=factory, params=params, capabilities=NATIVE)

    return Plugin()


class LessonLengths(SelectingStudents):
    """Trains as select-useful does and keeps the length of each student's last lesson, for the test
    students below to report positions relative to it."""

    def train(self, lessons: list[list[list[int]]]) -> None:
        self.lengths = [len(lesson) for lesson in lessons]
        super().train(lessons)


class OverReaching(LessonLengths):
    """Names among the positions it used two past its lesson and one before its start (-1, which Python
    would read as its last sentence)."""

    def used(self) -> list[list[int]] | None:
        return [[*u, n, n + 5, -1] for u, n in zip(super().used() or [], self.lengths, strict=True)]


class OverReachingStudent(SelectUsefulStudent):
    group = OverReaching


class AllButLast(LessonLengths):
    """Reports that it used all of its lesson but the last sentence."""

    def used(self) -> list[list[int]] | None:
        return [list(range(n - 1)) for n in self.lengths]


class AllButLastStudent(SelectUsefulStudent):
    group = AllButLast


def test_a_student_that_uses_the_start_of_its_lesson_has_what_it_used_counted(
    registry: Registry, tmp_path: Path
) -> None:
    """What a student used is recorded whenever it is not all it was sent, a prefix of it too: all of a
    lesson of 6 but its last sentence is 5 sentences used. The record's `reward_mean` is the paper's:
    minus the mean perplexity (the teacher's reward has its own key)."""
    registry.pm.register(student_plugin("all-but-last", AllButLastStudent))
    student = {"name": "all-but-last", "params": {**tiny_student(2)["params"], "keep": 0.5}}
    [record] = run_records(registry, tmp_path / "run", episodes=1, student=student, interaction={"name": "all-at-once"})
    assert record["per_student"]["sentences_used"] == [5.0, 5.0, 5.0]
    perplexities = record["per_student"]["perplexity"]
    assert record["reward_mean"] == pytest.approx(-sum(perplexities) / 3)
    assert record["teacher_reward_mean"] == pytest.approx(-sum(math.log(p) for p in perplexities) / 3)


class Counting(StackedStudents):
    """Native students that report, after each lesson, how many lessons their group has trained on
    since it was made."""

    trained = 0

    def train(self, lessons: list[list[list[int]]]) -> None:
        self.trained += 1
        super().train(lessons)

    def stats(self) -> list[dict[str, float]]:
        return [{"lessons_trained": float(self.trained)} for _ in self.final_losses]


class CountingStudent(TransformerLMStudent):
    group = Counting


@pytest.mark.parametrize(("lifetime", "totals"), [("run", [6.0, 15.0, 24.0]), ("episode", [6.0, 6.0, 6.0])])
def test_students_kept_for_the_run_are_the_same_students_in_every_episode(
    registry: Registry, tmp_path: Path, lifetime: str, totals: list[float]
) -> None:
    """Kept for the run, a student's third episode continues from its first two: the group trained on
    lessons 1-3 of episode 1 reports 4, 5 and 6 in episode 2 (summed over the rounds: 15), instead of
    being made again, as it is each episode when students live for one."""
    registry.pm.register(student_plugin("counting", CountingStudent, TransformerLMParams))
    student = {"name": "counting", "params": tiny_student(3)["params"]}
    records = run_records(registry, tmp_path / "run", episodes=3, student=student, student_lifetime=lifetime)
    assert [r["per_student"]["lessons_trained"] for r in records] == [[t] * 3 for t in totals]


class ForgetfulExecutor(SequentialExecutor):
    """Trains as the sequential executor does, then forgets the students it was asked to keep."""

    def run(self, job: TrainingJob) -> list[StudentReport]:
        reports = super().run(job)
        if job.cohort is not None:
            for i in range(len(job.seeds)):
                self.trainer.release(job.cohort, [i])
        return reports


@pytest.mark.parametrize(
    ("lifetime", "interaction", "cohort", "finished"),
    [("run", {"name": "all-at-once"}, "run", 1), ("episode", TINY_RUN["interaction"], "episode-0", 0)],
)
def test_an_executor_that_loses_kept_students_is_refused_instead_of_training_new_ones(
    registry: Registry, tmp_path: Path, lifetime: str, interaction: dict[str, Any], cohort: str, finished: int
) -> None:
    """Students kept through the run (here: into the second episode) or from round to round (the second
    of three rounds) must come back to the executor that trains them further; one that has lost them
    would otherwise make new students from the seeds, and the run would go on with numbers of students
    that never had the earlier lessons. The episodes finished before stay on disk."""

    class Plugin:
        @hookimpl
        def ilm_executors(self) -> Any:
            yield ExecutorSpec(name="forgetful", summary="test: loses its students", factory=ForgetfulExecutor)

    registry.pm.register(Plugin())
    out = tmp_path / "run"
    expected = rf"executor plugin 'forgetful'.*students \[0\] of cohort '{cohort}'.*Refused"
    with pytest.raises(PluginError, match=expected):
        run_records(
            registry,
            out,
            episodes=2,
            executor={"name": "forgetful"},
            student_lifetime=lifetime,
            interaction=interaction,
        )
    metrics = out / "metrics.jsonl"
    assert (len(metrics.read_text().splitlines()) if metrics.exists() else 0) == finished


def test_a_continued_job_finds_its_students_restored_from_a_saved_state(registry: Registry) -> None:
    """What `continued` allows: a cohort the trainer no longer holds, but whose state it was given
    (a resumed run), is restored, and the same job without a saved state is refused."""
    job = TrainingJob(
        student=ComponentRef(**tiny_student(2)),
        exam=ComponentRef(name="perplexity"),
        vocab_size=10,
        lessons=[[[1, 2, 3]], [[4, 5]]],
        seeds=[1, 2],
        exams={},
        cohort="c",
    )
    first = StudentTrainer(registry)
    first.train_and_score(job, "cpu")
    saved = first.save("c")
    again = job.model_copy(update={"continued": True})
    with pytest.raises(PluginError, match=r"students \[0, 1\] of cohort 'c'.*Refused"):
        StudentTrainer(registry).train_and_score(again, "cpu")
    restored = StudentTrainer(registry)
    restored.load("c", saved)
    assert [r.final_loss for r in restored.train_and_score(again, "cpu")] == [
        r.final_loss for r in first.train_and_score(again, "cpu")
    ]
    with pytest.raises(ValueError, match="continued = True needs a cohort"):
        job.model_validate({**job.model_dump(), "cohort": None, "continued": True})


def test_a_position_outside_the_lesson_is_not_counted_as_a_sentence_used(registry: Registry, tmp_path: Path) -> None:
    """The core credits a student only with sentences of its own lesson: a position it names past the end
    or before the start (here each student's lesson of 4, keeping 2, also names positions 4, 9 and -1) is
    left out of `sentences_used`,
    and the episode still ends with its record instead of an IndexError in the core."""
    registry.pm.register(student_plugin("over-reaching", OverReachingStudent))
    student = {"name": "over-reaching", "params": {**tiny_student(2)["params"], "keep": 0.5}}
    records = run_records(
        registry, tmp_path / "run", episodes=1, budget=4, interaction={"name": "all-at-once"}, student=student
    )
    assert records[0]["per_student"]["sentences_used"] == [2.0, 2.0, 2.0]


def test_a_sentence_loss_is_its_nll_per_predicted_token() -> None:
    from ilm_core.training import _per_token

    class Group:
        def sentence_nll(self, sentences: list[Any]) -> tuple[list[list[float]], list[int]]:
            return [[3.0, 5.0], [1.0, 0.0]], [2, 4]

    assert _per_token(Group(), [[1], [1, 2, 3]]) == [[1.5, 1.25], [0.5, 0.0]]
