"""Teaching that the feedback decides: hidden per-student goals, the feedback-withholding switch,
teachers that draw exactly each round's size, and feedback-bin acting on what it hears."""

from __future__ import annotations

import json
import statistics
import warnings
from pathlib import Path
from typing import Any, ClassVar

import pytest
import torch
from conftest import TINY_DOMAINS, small_run, tiny_student
from pydantic import ValidationError

from ilm_core import (
    ExamSpec,
    Feedback,
    LabelAccessError,
    Lesson,
    PluginError,
    RoundContext,
    StudentDescriptor,
    Teacher,
    TeacherContext,
    TeacherSpec,
    TrainingJob,
    hookimpl,
)
from ilm_core.build import build_environment
from ilm_core.config import resolve
from ilm_core.loop import Experiment
from ilm_core.registry import Registry
from ilm_core.rundir import RunDir
from ilm_core.training import StudentTrainer
from ilm_plugins.environments import DomainsParams
from ilm_plugins.environments.languages import DomainsEnvironment
from ilm_plugins.exams import PerplexityParams
from ilm_plugins.exams.perplexity import PerplexityExam
from ilm_plugins.teachers import FeedbackBinParams
from ilm_plugins.teachers.feedback_bin import FeedbackBinTeacher

GOALS = {**TINY_DOMAINS, "params": {**TINY_DOMAINS["params"], "goals": True}}
ROUNDS = {"name": "mid-term-exams", "params": {"rounds": 3}}


def records(registry: Registry, out: Path, **changes: Any) -> list[dict[str, Any]]:
    Experiment(resolve(small_run(**changes), registry), registry, RunDir(out)).run()
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


# -- the task: hidden per-student goals ----------------------------------------------------------


def test_goals_give_each_goal_its_own_exams_and_pool_labels() -> None:
    data = DomainsEnvironment(DomainsParams(**GOALS["params"])).build(3)
    assert sorted(data.goals) == ["V1", "V2"]
    v1, v2 = data.goals["V1"], data.goals["V2"]
    assert all(t < 10 for s in v1.exam + v1.heldout_exam for t in s)
    assert all(t >= 10 for s in v2.exam + v2.heldout_exam for t in s)
    assert [not x for x in v1.pool] == v2.pool and 0 < sum(v1.pool) < len(data.pool)
    assert data.pool_in_exam_domain is None  # no single exam domain: a student's is its goal
    assert not data.overlaps()


def test_every_student_is_asked_only_its_own_goals_exam_items(registry: Registry, tmp_path: Path) -> None:
    """The executor is told to examine each student, on the feedback and on the held-out exam alike,
    on sentences of its own goal alone (V1's words are below 10, V2's from 10 on)."""
    from ilm_core import ExecutorSpec
    from ilm_plugins.executors.local import SequentialExecutor

    jobs: list[TrainingJob] = []

    class Recording(SequentialExecutor):
        def run(self, job: TrainingJob) -> Any:
            jobs.append(job)
            return super().run(job)

    class Plugin:
        @hookimpl
        def ilm_executors(self) -> Any:
            yield ExecutorSpec(name="recording-items", summary="records its jobs", factory=Recording)

    registry.register(Plugin(), name="recording-items")
    [record] = records(
        registry,
        tmp_path / "run",
        teacher={"name": "random"},
        environment=GOALS,
        n_students=4,
        episodes=1,
        executor={"name": "recording-items"},
    )
    [job] = jobs
    in_v2 = [goal == 1.0 for goal in record["per_student"]["goal"]]
    assert sorted(in_v2) == [False, False, True, True]
    for exam in ("feedback", "heldout"):
        for student, items in enumerate(job.item_sets[exam]):
            words = {word for i in items for word in job.exams[exam][i]}
            assert words and all((word >= 10) == in_v2[student] for word in words), (exam, student)


def test_each_student_is_examined_on_its_own_goal(registry: Registry, tmp_path: Path) -> None:
    """Oracle lessons serve each student's own goal; worst-case lessons the other one. Examined on
    their own goal's exam, oracle-taught students score far better, which only per-student exams allow."""
    runs = {}
    for teacher in ("oracle", "worst-case"):
        runs[teacher] = records(
            registry,
            tmp_path / teacher,
            teacher={"name": teacher},
            environment=GOALS,
            n_students=4,
            student=tiny_student(updates=20),
        )
    oracle, worst = runs["oracle"][-1], runs["worst-case"][-1]
    assert sorted(oracle["per_student"]["goal"]) == [0.0, 0.0, 1.0, 1.0]  # balanced over the goals
    assert oracle["fraction_exam_domain"] == 1.0 and worst["fraction_exam_domain"] == 0.0
    assert oracle["heldout_perplexity_mean"] < worst["heldout_perplexity_mean"]


def test_a_job_with_item_sets_scores_each_student_on_its_own_items(registry: Registry) -> None:
    trainer = StudentTrainer(registry)
    exam = [[1, 2, 3], [2, 3, 1], [11, 12, 13], [12, 13, 11]]
    common = dict(student={"name": "transformer-lm", "params": {"updates": 0, "dim": 16, "ffn": 32}},
                  exam={"name": "perplexity"}, vocab_size=20, lessons=[[[1, 2]], [[1, 2]]], seeds=[5, 5])  # fmt: skip
    whole = trainer.train_and_score(TrainingJob(**common, exams={"feedback": exam}), "cpu")
    split = trainer.train_and_score(
        TrainingJob(**common, exams={"feedback": exam}, item_sets={"feedback": [[0, 1], [2, 3]]}), "cpu"
    )
    alone = trainer.train_and_score(TrainingJob(**common, exams={"feedback": exam[2:]}), "cpu")
    assert len(whole[0].exams["feedback"].item_perplexities) == 4
    assert split[1].exams["feedback"].item_perplexities == alone[1].exams["feedback"].item_perplexities
    assert split[0].exams["feedback"].perplexity != split[1].exams["feedback"].perplexity
    with pytest.raises(ValueError, match="item_sets"):
        TrainingJob(**common, exams={"feedback": exam}, item_sets={"feedback": [[0, 9], [1]]})


def test_only_a_privileged_reference_learns_the_goals(registry: Registry) -> None:
    config = resolve(small_run(environment=GOALS), registry)
    data = build_environment(config, registry)
    plain = TeacherContext.of(data, budget=3, n_students=2, seed=1)
    with pytest.raises(LabelAccessError, match="privileged"):
        plain.goal_pool("V1")
    privileged = TeacherContext.of(data, budget=3, n_students=2, seed=1, privileged=True)
    assert privileged.goal_pool("V1") == data.goals["V1"].pool
    hidden = RoundContext(episode=0, round=0, rounds=1, size=3, n_students=2, sent=[[], []], hidden_goals=True)
    with pytest.raises(LabelAccessError, match="hidden goals"):
        _ = hidden.goals
    told = RoundContext(
        episode=0, round=0, rounds=1, size=3, n_students=2, sent=[[], []], hidden_goals=True,
        privileged_goals=["V2", "V1"],
    )  # fmt: skip
    assert told.goals == ["V2", "V1"]


# -- the ablation switch -------------------------------------------------------------------------


class Listener(Teacher):
    """Records what it is told: the feedback of every round's context and what learn() gets."""

    seen: ClassVar[list[list[list[Feedback]]]] = []
    told_withheld: ClassVar[list[bool]] = []
    learned: ClassVar[list[list[Feedback]]] = []

    def __init__(self, params: Any = None):
        pass

    def select(self, context: RoundContext) -> list[Lesson]:
        Listener.seen.append(context.feedback)
        Listener.told_withheld.append(context.feedback_withheld)
        return [
            Lesson(student=i, indices=context.unsent(i, len(self.context.pool))[: context.size])
            for i in range(context.n_students)
        ]

    def learn(self, feedback: list[Feedback]) -> Any:
        Listener.learned.append(feedback)
        return super().learn(feedback)


class ListenerPlugin:
    @hookimpl
    def ilm_teachers(self):
        yield TeacherSpec(name="listener", summary="records its feedback", factory=Listener)


@pytest.mark.parametrize("switch", ["given", "withheld", "shuffled"])
def test_withholding_feedback_empties_what_the_teacher_reads(registry: Registry, tmp_path: Path, switch: str) -> None:
    registry.pm.register(ListenerPlugin())
    Listener.seen, Listener.told_withheld, Listener.learned = [], [], []
    interaction = {"name": "mid-term-exams", "params": {"rounds": 3, "reward": "all"}}
    raw = small_run(teacher={"name": "listener"}, interaction=interaction, teacher_feedback=switch, episodes=1)
    Experiment(resolve(raw, registry), registry, RunDir(tmp_path / "run")).run()
    later = Listener.seen[1:]  # the first round has no earlier feedback either way
    true = Listener.learned  # learn() gets each round's true feedback (withheld: its rewards only)
    if switch == "given":
        assert all(later) and all(f.item_perplexities for round_ in later[-1] for f in round_)
        assert later[-1] == true[:2]
    elif switch == "shuffled":  # every student's own lesson with another student's scores
        for heard, real in zip(later[-1], true[:2], strict=True):
            assert [f.lesson for f in heard] == [f.lesson for f in real]
            assert sorted(f.perplexity for f in heard) == sorted(f.perplexity for f in real)
            assert all(h.perplexity != r.perplexity and h.reward != r.reward for h, r in zip(heard, real, strict=True))
        assert later[0] == later[-1][:1]  # the same derangement of a round when it is heard again
    else:
        assert later == [[], []]
    # every round tells the teacher whether feedback will come (from the first round on)
    assert Listener.told_withheld == [switch == "withheld"] * 3
    # the teacher still learns from every rewarded round; withheld, without item scores
    assert len(Listener.learned) == 3
    assert all((f.item_perplexities is None) == (switch == "withheld") for fb in Listener.learned for f in fb)
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved.get("teacher_feedback", "given") == switch


def test_shuffled_feedback_of_one_student_is_its_own() -> None:
    """With one student there is no one else's scores to hear: its feedback comes back with its own
    scores (shuffling looks for a derangement only among two or more)."""
    from ilm_core.feedback import shuffled

    lesson = Lesson(student=0, indices=[0, 1], sentences=[[1], [2]])
    [heard] = shuffled([Feedback(student=0, lesson=lesson, perplexity=12.0, round=0)], seed=3)
    assert heard.perplexity == 12.0 and heard.lesson == lesson


def test_an_unknown_feedback_switch_is_refused(registry: Registry) -> None:
    from ilm_core.errors import ConfigError

    with pytest.raises(ConfigError, match="teacher_feedback"):
        resolve(small_run(teacher_feedback="muted"), registry)


# -- every teacher draws exactly the round's size ------------------------------------------------


@pytest.mark.parametrize("teacher", ["select-bin", "feedback-bin", "value-bandit", "random", "oracle", "worst-case"])
def test_every_teacher_draws_exactly_each_rounds_size(registry: Registry, tmp_path: Path, teacher: str) -> None:
    params = {"lm_updates": 5, "lm_dim": 16} if teacher.endswith("-bin") else {}
    interaction = {"name": "send-in-batches", "params": {"rounds": 3}}
    got = records(
        registry, tmp_path / "run", teacher={"name": teacher, "params": params}, interaction=interaction,
        budget=7, n_students=3, episodes=1,
    )  # fmt: skip
    assert [r["size"] for r in got[0]["rounds"]] == [3, 2, 2]
    # the loop refuses a lesson larger than its round or one that resends: all 7 distinct sentences
    # of 10 tokens reached each of the 3 students
    assert got[0]["tokens_sent"] == 3 * 7 * 10


class WholeBudget(Teacher):
    """A teacher written for one round: the whole budget every round."""

    def __init__(self, params: Any = None):
        pass

    def select(self, context: RoundContext) -> list[Lesson]:
        return [Lesson(student=i, indices=list(range(self.context.budget))) for i in range(context.n_students)]


class WholeBudgetPlugin:
    @hookimpl
    def ilm_teachers(self):
        yield TeacherSpec(name="whole-budget", summary="ignores rounds", factory=WholeBudget)


def test_a_draw_larger_than_the_round_is_refused_not_trimmed(registry: Registry, tmp_path: Path) -> None:
    registry.pm.register(WholeBudgetPlugin())
    raw = small_run(teacher={"name": "whole-budget"}, interaction={"name": "send-in-batches", "params": {"rounds": 3}})
    with pytest.raises(PluginError, match=r"whole-budget.*round 0 of 3 allows 1 to 1.*fit_to_round"):
        Experiment(resolve(raw, registry), registry, RunDir(tmp_path / "run")).run()


# -- feedback-bin acts on what it hears ----------------------------------------------------------


def _teacher(students: list[StudentDescriptor] | None = None, **params: Any) -> FeedbackBinTeacher:
    """A small feedback-bin, set up; with the whole memory unless `params` say otherwise (the tests of
    its parts compare with it)."""
    params.setdefault("individual_memory", False)
    registry_free = FeedbackBinTeacher(FeedbackBinParams(lm_updates=5, lm_dim=16, **params))
    data = DomainsEnvironment(DomainsParams(**GOALS["params"])).build(3)
    context = TeacherContext.of(data, budget=6, n_students=4, seed=2, students=students)
    registry_free.context = context
    registry_free.setup(context)
    return registry_free


def _round_one(teacher: FeedbackBinTeacher, perplexities: list[float]) -> RoundContext:
    first = RoundContext(episode=0, round=0, rounds=2, size=3, n_students=4, sent=[[]] * 4)
    lessons = teacher.select(first)
    feedback = [
        Feedback(student=lesson.student, lesson=lesson, perplexity=p, round=0)
        for lesson, p in zip(lessons, perplexities, strict=True)
    ]
    return RoundContext(
        episode=0, round=1, rounds=2, size=3, n_students=4, sent=[lesson.indices for lesson in lessons],
        feedback=[feedback],
    )  # fmt: skip


def test_feedback_bin_changes_its_choice_when_the_feedback_changes() -> None:
    teacher = _teacher(listen_init=3.0)
    state = teacher.generator.get_state()
    one = teacher.select(_round_one(teacher, [10.0, 20.0, 10.0, 20.0]))
    teacher.generator.set_state(state)
    other = teacher.select(_round_one(teacher, [20.0, 10.0, 20.0, 10.0]))
    assert [lesson.indices for lesson in one] != [lesson.indices for lesson in other]
    teacher.generator.set_state(state)
    again = teacher.select(_round_one(teacher, [10.0, 20.0, 10.0, 20.0]))
    assert [lesson.indices for lesson in one] == [lesson.indices for lesson in again]


def test_feedback_bin_probes_only_when_a_later_round_will_hear_the_answer() -> None:
    teacher = _teacher()
    context = dict(episode=0, round=0, size=3, n_students=4, sent=[[]] * 4)
    tilt = teacher.probe_tilt(RoundContext(rounds=3, **context))
    assert tilt is not None and torch.equal(tilt[0], -tilt[1]) and tilt.abs().sum() > 0
    assert teacher.probe_tilt(RoundContext(rounds=3, feedback_withheld=True, **context)) is None
    assert teacher.probe_tilt(RoundContext(rounds=1, **context)) is None  # no later round at all
    assert teacher.probe_tilt(RoundContext(rounds=3, **{**context, "round": 1})) is None
    assert _teacher(probe=0.0).probe_tilt(RoundContext(rounds=3, **context)) is None
    withheld = teacher.probe_tilt(RoundContext(rounds=3, feedback_withheld=True, **context))
    ablation = _teacher(probe_withheld=True).probe_tilt(RoundContext(rounds=3, feedback_withheld=True, **context))
    assert withheld is None and ablation is not None and torch.equal(ablation, tilt)  # the same first lessons


def test_feedback_bin_with_feedback_withheld_draws_as_without_a_probe() -> None:
    """Withheld, the probing teacher's first round is the unprobed teacher's, draw for draw."""
    lessons = []
    for probe in (2.0, 0.0):
        teacher = _teacher(probe=probe)
        first = RoundContext(episode=0, round=0, rounds=3, size=3, n_students=4, sent=[[]] * 4, feedback_withheld=True)
        lessons.append([lesson.indices for lesson in teacher.select(first)])
    assert lessons[0] == lessons[1]


def test_feedback_bin_without_feedback_is_blind() -> None:
    teacher = _teacher(listen_init=3.0)
    context = _round_one(teacher, [10.0, 20.0, 10.0, 20.0])
    blind = RoundContext(**{**context.__dict__, "feedback": []})
    assert torch.equal(teacher.memory(blind), torch.zeros_like(teacher.memory(context)))
    assert teacher.memory(context).abs().sum() > 0


@pytest.mark.slow
def test_listening_sends_each_student_its_own_goal(registry: Registry, tmp_path: Path) -> None:
    """With the memory followed (listen_init), rounds after the probe send each student mostly its own
    goal's sentences (0.72 of them at these tiny sizes); with feedback withheld the same teacher stays
    near the pool's half (0.55)."""
    fractions = {}
    for switch in ("given", "withheld"):
        got = records(
            registry, tmp_path / switch, environment=GOALS, interaction=ROUNDS, n_students=8, budget=9, episodes=3,
            teacher={"name": "feedback-bin", "params": {"lm_updates": 5, "lm_dim": 16, "listen_init": 3.0, "lr": 1e-9}},
            student={"name": "transformer-lm", "params": {"updates": 10, "lr": 1e-3, "dim": 16, "ffn": 32}},
            teacher_feedback=switch,
        )  # fmt: skip
        fractions[switch] = statistics.fmean(r["rounds"][k]["fraction_exam_domain"] for r in got for k in (1, 2))
    assert fractions["given"] > fractions["withheld"] + 0.1 and fractions["withheld"] < 0.65, fractions


def test_feedback_bin_resumes_exactly(registry: Registry, tmp_path: Path) -> None:
    teacher = {"name": "feedback-bin", "params": {"lm_updates": 5, "lm_dim": 16}}
    raw = small_run(
        teacher=teacher, environment=GOALS, interaction=ROUNDS, n_students=4, episodes=4, checkpoint_every=2
    )
    full, cut = tmp_path / "full", tmp_path / "cut"
    for path in (full, cut):
        Experiment(resolve(raw, registry), registry, RunDir(path)).run()
    (cut / "summary.json").unlink()  # undo the second half of `cut`: its last checkpoint and records
    sorted((cut / "checkpoints").iterdir())[-1].unlink()
    lines = (cut / "metrics.jsonl").read_text().splitlines()[:2]
    (cut / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    Experiment(resolve(raw, registry), registry, RunDir(cut)).run(resume=True)

    def read(path: Path) -> list[dict[str, Any]]:
        lines = (path / "metrics.jsonl").read_text().splitlines()
        return [{k: v for k, v in json.loads(line).items() if k != "seconds"} for line in lines]

    assert read(cut) == read(full)


# -- a teacher written for an earlier plugin API -------------------------------------------------


class OldFirstK(Teacher):
    """A teacher written against plugin API 1: select(self, n_students, episode)."""

    def __init__(self, params: Any = None):
        pass

    def select(self, n_students: int, episode: int) -> list[Lesson]:  # type: ignore[override]
        return [Lesson(student=i, indices=list(range(self.context.budget))) for i in range(n_students)]


class OldPlugin:
    @hookimpl
    def ilm_teachers(self):
        yield TeacherSpec(name="old-first-k", summary="plugin API 1", factory=OldFirstK)
        yield TeacherSpec(name="ancient", summary="plugin API 0", factory=OldFirstK, api_version=0)
        yield TeacherSpec(name="future", summary="plugin API 99", factory=OldFirstK, api_version=99)


def test_a_teacher_of_the_previous_api_runs_with_a_warning_naming_the_new_form(
    registry: Registry, tmp_path: Path
) -> None:
    from ilm_core import PluginAPIWarning

    registry.pm.register(OldPlugin())
    raw = small_run(teacher={"name": "old-first-k"}, interaction={"name": "send-in-batches", "params": {"rounds": 3}})
    with pytest.warns(PluginAPIWarning, match=r"select\(self, context: RoundContext\)"):
        Experiment(resolve(raw, registry), registry, RunDir(tmp_path / "run")).run()
    got = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["size"] for r in got[0]["rounds"]] == [1, 1, 1]


@pytest.mark.parametrize(("name", "message"), [("ancient", "no longer adapts"), ("future", "newer ilm")])
def test_a_plugin_of_an_api_the_core_does_not_serve_is_refused_when_built(
    registry: Registry, name: str, message: str
) -> None:
    registry.pm.register(OldPlugin())
    with pytest.raises(PluginError, match=message):
        registry.build("teacher", name, {})


class GoalsListener(Listener):
    """Records whether each round's context says the students' goals are hidden."""

    hidden: ClassVar[list[bool]] = []

    def select(self, context: RoundContext) -> list[Lesson]:
        GoalsListener.hidden.append(context.hidden_goals)
        return super().select(context)


@pytest.mark.parametrize("goals", [True, False])
def test_the_teacher_is_told_whether_the_students_goals_are_hidden(
    registry: Registry, tmp_path: Path, goals: bool
) -> None:
    class Plugin:
        @hookimpl
        def ilm_teachers(self):
            yield TeacherSpec(name="goals-listener", summary="records hidden_goals", factory=GoalsListener)

    registry.pm.register(Plugin())
    GoalsListener.hidden = []
    environment = GOALS if goals else TINY_DOMAINS
    records(registry, tmp_path / "run", environment=environment, interaction=ROUNDS, teacher={"name": "goals-listener"})
    assert GoalsListener.hidden and set(GoalsListener.hidden) == {goals}


class HalfLabellingExam(PerplexityExam):
    """Labels the items of every other goal only: the goals' labels together never fit the exam."""

    calls: ClassVar[int] = 0

    def labels(self, items: list[list[int]]) -> list[str] | None:
        HalfLabellingExam.calls += 1
        return super().labels(items) if HalfLabellingExam.calls % 2 else None


def test_goal_exams_keep_their_item_labels_only_when_every_goal_is_labelled(registry: Registry, tmp_path: Path) -> None:
    """Per-student goal exams are made goal by goal: their labels reach the exam's scoring (as
    component scores) when every goal's items are labelled, and are dropped, not misaligned, when not."""

    class Plugin:
        @hookimpl
        def ilm_exams(self):
            yield ExamSpec(name="half-labelling", summary="test", factory=HalfLabellingExam, params=PerplexityParams)

    registry.pm.register(Plugin())
    by_length = {"name": "perplexity", "params": {"components": "length"}}
    labelled = records(registry, tmp_path / "labelled", environment=GOALS, exam=by_length)
    assert all(any(key.startswith("feedback/") for key in r["components"]) for r in labelled)
    HalfLabellingExam.calls = 0
    half = records(registry, tmp_path / "half", environment=GOALS, exam={**by_length, "name": "half-labelling"})
    assert HalfLabellingExam.calls >= 4  # two goals an episode, two episodes
    assert len(half) == 2 and all("components" not in r for r in half)


def _memory(peers: str, groups: list[str], perplexities: list[float]) -> torch.Tensor:
    teacher = _teacher([StudentDescriptor(group=g, student="transformer-lm") for g in groups], peers=peers)
    return teacher.memory(_round_one(teacher, perplexities))


def test_feedback_bin_can_compare_each_student_with_its_own_kind_only() -> None:
    """With `peers = "kind"` a kind's overall level (here: one kind's perplexities ten times the
    other's) is no evidence about its lessons; compared with all students, it is."""
    kinds, alike = ["a", "a", "b", "b"], [10.0, 20.0, 10.0, 20.0]
    shifted = [10.0, 20.0, 100.0, 200.0]
    # the same up to the rounding of log(100) - log(200) against log(10) - log(20)
    assert torch.allclose(_memory("kind", kinds, alike), _memory("kind", kinds, shifted), rtol=0, atol=1e-5)
    assert (_memory("all", kinds, alike) - _memory("all", kinds, shifted)).abs().max() > 0.1
    # one kind: exactly what comparing with all students gives
    one = ["a"] * 4
    assert torch.equal(_memory("kind", one, shifted), _memory("all", one, shifted))
    # a student with no peer of its kind hears nothing; the others still do
    lone = _memory("kind", ["a", "a", "a", "b"], shifted)
    assert lone[3].abs().sum() == 0 and lone[:3].abs().sum() > 0


def test_feedback_bin_can_listen_along_the_probes_axis_only() -> None:
    """`listen_components = 1` keeps the memory's first component (the probe's axis) as it was and
    drops the others: the teacher still hears which side of the probe helped whom, and nothing else."""
    scores = [10.0, 20.0, 10.0, 20.0]
    full = _teacher(listen_init=3.0)
    axis = _teacher(listen_init=3.0, listen_components=1)
    slots, d = full.params.memory_slots, full.features.shape[1]
    every = full.memory(_round_one(full, scores)).view(4, slots, d)
    first = axis.memory(_round_one(axis, scores)).view(4, slots, d)
    assert every[:, :, 1:].abs().sum() > 0  # the other components did carry evidence
    assert torch.equal(first[:, :, 0], every[:, :, 0]) and first[:, :, 1:].abs().sum() == 0
    state = axis.generator.get_state()
    one = axis.select(_round_one(axis, scores))
    axis.generator.set_state(state)
    other = axis.select(_round_one(axis, scores[::-1]))
    assert [lesson.indices for lesson in one] != [lesson.indices for lesson in other]


def test_feedback_bin_pooled_memory_gives_every_student_the_same_evidence() -> None:
    """`pooled_memory` keeps what the round's feedback says overall (the students' mean memory) and
    drops who said it: every student's memory is that mean, and the teacher still listens to it."""
    scores = [10.0, 20.0, 10.0, 20.0]
    own, pooled = _teacher(listen_init=3.0), _teacher(listen_init=3.0, pooled_memory=True)
    each = own.memory(_round_one(own, scores))
    shared = pooled.memory(_round_one(pooled, scores))
    assert (each - each.mean(0)).abs().max() > 0  # the students' own memories differ
    assert torch.allclose(shared, each.mean(0, keepdim=True).expand_as(each))
    logits = pooled.logits(shared)
    assert torch.equal(logits, logits[:1].expand_as(logits))  # the same scores for every student
    assert (logits - pooled.logits(torch.zeros_like(shared))).abs().max() > 0  # which the evidence moved


def test_feedback_bin_individual_memory_keeps_only_what_sets_each_student_apart() -> None:
    """`individual_memory` is pooled_memory's complement: each student's memory minus the students'
    mean, so that the two add up to the whole memory; what every student shares is gone, what tells
    one student from another is kept, and the teacher still acts on it. It is the default, which
    pooled_memory turns off; both set at once are refused."""
    scores = [10.0, 30.0, 12.0, 15.0]
    own = _teacher(listen_init=3.0)
    apart = _teacher(listen_init=3.0, individual_memory=True)
    pooled = _teacher(listen_init=3.0, pooled_memory=True)
    each = own.memory(_round_one(own, scores))
    rest = apart.memory(_round_one(apart, scores))
    mean = pooled.memory(_round_one(pooled, scores))
    assert each.mean(0).abs().max() > 1e-3  # the students' memories do share something
    assert torch.allclose(rest + mean, each, atol=1e-6)
    assert rest.mean(0).abs().max() < 1e-5 and rest.abs().max() > 0
    logits = apart.logits(rest)
    assert (logits - logits[:1]).abs().max() > 0  # students get different scores from their evidence
    assert FeedbackBinParams().individual_memory and not FeedbackBinParams(pooled_memory=True).individual_memory
    with pytest.raises(ValidationError, match="individual_memory"):
        FeedbackBinParams(pooled_memory=True, individual_memory=True)


def _one_episode(teacher: FeedbackBinTeacher) -> None:
    """Two rounds and a final exam: the teacher draws, hears the mid-term, draws again and learns."""
    context = _round_one(teacher, [10.0, 20.0, 12.0, 18.0])
    second = teacher.select(context)
    final = [
        Feedback(student=lesson.student, lesson=lesson, perplexity=p, round=1)
        for lesson, p in zip(second, [9.0, 21.0, 11.0, 19.0], strict=True)
    ]
    teacher.learn(final)


def test_feedback_bin_listen_lr_moves_the_listening_matrices_at_their_own_rate() -> None:
    """`listen_lr` gives the listening matrices their own Adam learning rate (Adam's first step moves
    each weight by about its rate): the policy moves as it does at the policy's rate (None), the
    listening matrices ten times less, and by default five times less; the optimizers' state
    survives a checkpoint."""
    same, slow, default = _teacher(listen_lr=None), _teacher(listen_lr=0.01), _teacher()
    teachers = {"same": same, "slow": slow, "default": default}
    before = {name: t.listen.weight.detach().clone() for name, t in teachers.items()}
    policy = [p.detach().clone() for p in slow.policy.parameters()]
    for teacher in teachers.values():
        _one_episode(teacher)
    moved = {name: (t.listen.weight.detach() - before[name]).abs().max() for name, t in teachers.items()}
    assert 0.09 < moved["same"] < 0.11 and 0.009 < moved["slow"] < 0.011 and 0.018 < moved["default"] < 0.022
    for a, b, start in zip(same.policy.parameters(), slow.policy.parameters(), policy, strict=True):
        assert torch.equal(a, b) and (a.detach() - start).abs().max() > 0.05
    resumed = _teacher(listen_lr=0.01)
    resumed.load_state_dict(slow.state_dict())
    assert torch.equal(resumed.listen.weight, slow.listen.weight)
    assert resumed.optimizer.state_dict()["listen"]["steps"] == [1.0]


def test_the_plugin_api_versions_served_are_the_oldest_adapted_to_the_current_one() -> None:
    from ilm_core.compat import OLDEST_ADAPTED, PLUGIN_API, adapt, check_api_version

    for served in (None, *range(OLDEST_ADAPTED, PLUGIN_API + 1)):
        check_api_version("teacher", "t", served)
    for refused in (OLDEST_ADAPTED - 1, PLUGIN_API + 1):
        with pytest.raises(PluginError, match=f"teacher plugin 't' was written for .*plugin API {refused}"):
            check_api_version("teacher", "t", refused)

    class Opaque:
        select = max  # a builtin: its signature cannot be read, so it is no old form to adapt

    teacher = Opaque()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no PluginAPIWarning: nothing is adapted
        assert adapt("teacher", "opaque", teacher) is teacher
    assert teacher.select is max
