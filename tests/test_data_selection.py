"""Today's data-selection methods as reference teachers (docs/data-selection.md): the students' own
losses as feedback (per sentence sent, and a placement test), and `odm`, `doremi`, `hard-examples`
and `stratified`, which mix over k-means groups of the pool and never read its labels."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import pytest
from conftest import TINY_DOMAINS, small_run

from ilm_core import (
    ComponentRef,
    Feedback,
    LabelAccessError,
    Lesson,
    PluginError,
    RoundContext,
    SentenceLoss,
    Teacher,
    TeacherContext,
    TeacherSpec,
    TrainingJob,
    hookimpl,
)
from ilm_core.config import resolve
from ilm_core.loop import Experiment
from ilm_core.registry import Registry
from ilm_core.rundir import RunDir
from ilm_core.training import StudentTrainer
from ilm_plugins.environments import DomainsParams
from ilm_plugins.environments.languages import DomainsEnvironment
from ilm_plugins.teachers.kmeans import kmeans

FOUR = ("odm", "doremi", "hard-examples", "stratified")
TINY_LM = {"lm_updates": 5, "lm_dim": 16, "groups": 3}
ROUNDS = {"name": "mid-term-exams", "params": {"rounds": 3}}


def _records(registry: Registry, out: Path, **changes: Any) -> list[dict[str, Any]]:
    Experiment(resolve(small_run(**changes), registry), registry, RunDir(out)).run()
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


# -- the students' losses: sentence losses and the placement test --------------------------------


def test_a_job_reports_sentence_losses_before_and_after_and_the_placement_test(registry: Registry) -> None:
    data = DomainsEnvironment(DomainsParams(**TINY_DOMAINS["params"])).build(3)
    job = TrainingJob(
        student=ComponentRef(name="transformer-lm", params={"updates": 20, "dim": 16, "ffn": 32}),
        exam=ComponentRef(name="perplexity"),
        vocab_size=len(data.vocabulary),
        lessons=[data.pool[:3], data.pool[3:5]],
        seeds=[1, 2],
        exams={"feedback": data.exam[:4]},
        sentence_losses=True,
        placement=data.pool[10:14],
    )
    reports = StudentTrainer(registry).train_and_score(job, "cpu")
    for r, lesson in zip(reports, job.lessons, strict=True):
        assert len(r.sentence_losses) == len(lesson) and len(r.placement) == 4
        # trained on them: the loss on its own sentences falls
        assert all(s.before is not None and s.after < s.before for s in r.sentence_losses)
    plain = StudentTrainer(registry).train_and_score(
        job.model_copy(update={"sentence_losses": False, "placement": []}), "cpu"
    )
    assert "sentence_losses" not in plain[0].model_dump() and "placement" not in plain[0].model_dump()
    # scoring before training changes nothing of the training itself
    assert [r.final_loss for r in plain] == [r.final_loss for r in reports]


class Asker(Teacher):
    """Sends the first unsent sentences, asks for sentence losses and tests two pool sentences each round."""

    sentence_losses = True
    seen: ClassVar[list[list[list[Feedback]]]] = []
    learned: ClassVar[list[list[Feedback]]] = []

    def __init__(self, params: Any = None):
        pass

    def select(self, context: RoundContext) -> list[Lesson]:
        Asker.seen.append(context.feedback)
        return [
            Lesson(student=i, indices=context.unsent(i, len(self.context.pool))[: context.size])
            for i in range(context.n_students)
        ]

    def placement(self, context: RoundContext) -> list[int]:
        return [18, 19, 18]  # a duplicate is dropped

    def learn(self, feedback: list[Feedback]) -> Any:
        Asker.learned.append(feedback)
        return super().learn(feedback)


class AskerPlugin:
    @hookimpl
    def ilm_teachers(self):
        yield TeacherSpec(name="asker", summary="asks for its students' losses", factory=Asker)


@pytest.mark.parametrize("switch", ["given", "withheld"])
def test_losses_reach_the_teacher_unless_withheld_and_the_record_counts_them(
    registry: Registry, tmp_path: Path, switch: str
) -> None:
    registry.pm.register(AskerPlugin())
    Asker.seen, Asker.learned = [], []
    interaction = {"name": "mid-term-exams", "params": {"rounds": 3, "reward": "all"}}
    lines = _records(
        registry,
        tmp_path / "run",
        teacher={"name": "asker"},
        interaction=interaction,
        teacher_feedback=switch,
        episodes=1,
        budget=6,
    )
    assert [entry.get("placement") for entry in lines[0]["rounds"]] == [2, 2, 2]
    later = Asker.seen[1:]
    n = 2  # students; every round's feedback reaches the teacher, one per student, and it learns from each
    assert [len(fb) for fb in Asker.learned] == [n, n, n]
    if switch == "given":
        last = later[-1][-1]  # round 1's feedback, seen in round 2
        assert [f.student for f in last] == list(range(n))
        assert all(set(f.placement) == {18, 19} for f in last)
        assert all(set(f.sentence_losses) == set(f.lesson.indices[2:4]) for f in last)
        assert all(f.sentence_losses and f.placement for fb in Asker.learned for f in fb)
    else:
        assert later == [[], []]
        assert all(not f.sentence_losses and not f.placement for fb in Asker.learned for f in fb)


# -- the four teachers ------------------------------------------------------------------------------


def test_plugins_lists_the_four_teachers(cli) -> None:
    code, out, _ = cli("plugins")
    assert code == 0
    for name in FOUR:
        assert name in out


@pytest.mark.parametrize("name", FOUR)
def test_each_teacher_runs_in_rounds_with_mid_terms(registry: Registry, tmp_path: Path, name: str) -> None:
    lines = _records(
        registry,
        tmp_path / name,
        teacher={"name": name, "params": TINY_LM},
        interaction=ROUNDS,
        budget=6,
        n_students=3,
    )
    assert len(lines) == 2 and all(len(line["rounds"]) == 3 for line in lines)
    tested = [entry.get("placement", 0) for entry in lines[0]["rounds"]]
    assert (tested[:2] != [0, 0]) == (name in ("doremi", "hard-examples")) and tested[2] == 0


def _teacher(registry: Registry, name: str, **params: Any) -> Teacher:
    teacher = registry.build("teacher", name, {**TINY_LM, **params})
    data = DomainsEnvironment(DomainsParams(**TINY_DOMAINS["params"])).build(3)
    context = TeacherContext.of(data, budget=6, n_students=2, seed=2)
    teacher.context = context
    teacher.setup(context)
    return teacher


def _second_round(teacher: Any, hard_group: int) -> RoundContext:
    """Round 1 after a round 0 whose losses say that group `hard_group` is the students' hardest."""
    first = RoundContext(episode=0, round=0, rounds=3, size=2, n_students=2, sent=[[], []])
    lessons = teacher.select(first)
    tested = teacher.placement(first)

    def loss(j: int) -> float:
        return 6.0 if teacher.groups[j] == hard_group else 1.0

    feedback = [
        Feedback(
            student=lesson.student,
            lesson=lesson,
            perplexity=10.0,
            round=0,
            sentence_losses={j: SentenceLoss(before=loss(j), after=loss(j) - 0.5) for j in lesson.indices},
            placement={j: loss(j) for j in tested or range(len(teacher.groups))},
        )
        for lesson in lessons
    ]
    return RoundContext(
        episode=0, round=1, rounds=3, size=2, n_students=2, sent=[lesson.indices for lesson in lessons],
        feedback=[feedback],
    )  # fmt: skip


def _choices(teacher: Any, hard_group: int) -> tuple[list[list[int]], Any]:
    rng, generator = teacher.rng.getstate(), teacher.generator.get_state()
    context = _second_round(teacher, hard_group)
    weights = teacher.weights(context) if hasattr(teacher, "policy") or hasattr(teacher, "alpha") else None
    lessons = [lesson.indices for lesson in teacher.select(context)]
    teacher.rng.setstate(rng)
    teacher.generator.set_state(generator)
    return lessons, weights


@pytest.mark.parametrize("name", ["odm", "doremi", "hard-examples"])
def test_each_learning_teacher_changes_its_choice_when_the_feedback_changes(registry: Registry, name: str) -> None:
    extra = {"odm": {"exploration": 0.02, "lr": 0.1}, "hard-examples": {"placement": 20, "pressure": 1e8}}.get(name, {})
    teacher = _teacher(registry, name, **extra)
    one, w_one = _choices(teacher, hard_group=0)
    other, w_other = _choices(teacher, hard_group=1)
    again, _ = _choices(teacher, hard_group=0)
    assert one == again  # the same feedback, the same choice
    assert one != other
    if w_one is not None:  # the hard group's weight rises
        assert all(a[0] > b[0] and a[1] < b[1] for a, b in zip(w_one, w_other, strict=True))
    if name == "hard-examples":  # the hard group's sentences are sent
        assert all(teacher.groups[j] == 0 for lesson in one for j in lesson)


def test_stratified_ignores_feedback_and_sends_equal_shares(registry: Registry) -> None:
    teacher = _teacher(registry, "stratified")
    one, _ = _choices(teacher, hard_group=0)
    other, _ = _choices(teacher, hard_group=1)
    assert one == other  # the bar: equal shares whatever the students say
    first = RoundContext(episode=0, round=0, rounds=1, size=6, n_students=2, sent=[[], []])
    for lesson in teacher.select(first):
        assert sorted(teacher.groups[j] for j in lesson.indices) == [0, 0, 1, 1, 2, 2]


@pytest.mark.parametrize("name", FOUR)
def test_none_reads_the_labels_and_the_guard_refuses_those_that_ask(registry: Registry, name: str) -> None:
    """Grouped by embeddings (the default) they set up with a context that refuses the labels; asked
    to group by the labels, the guard refuses every one of them (only `stratified-labels`, a privileged
    reference, gets them)."""
    teacher = _teacher(registry, name)  # a non-privileged context: pool_in_exam_domain raises
    assert len(set(teacher.groups)) == 3
    with pytest.raises(LabelAccessError):
        _teacher(registry, name, group_by="labels")
    assert not registry.get("teacher", name).privileged
    assert registry.get("teacher", "stratified-labels").privileged


def test_kmeans_is_seeded_and_finds_separated_groups() -> None:
    import torch

    x = torch.cat([torch.randn(10, 2) * 0.1, torch.randn(10, 2) * 0.1 + 5.0])
    labels = kmeans(x, 2, seed=4)
    assert labels == kmeans(x, 2, seed=4)
    assert len(set(labels[:10])) == 1 and len(set(labels[10:])) == 1 and labels[0] != labels[10]
    assert sorted(set(kmeans(x, 25, seed=1))) == list(range(20))  # k cut to n, no empty cluster


def test_doremi_starts_the_next_episode_from_its_average_weights_and_resumes_them(registry: Registry) -> None:
    teacher = _teacher(registry, "doremi")
    context = _second_round(teacher, hard_group=0)
    lessons = teacher.select(context)  # round 1 of 3: the weights have moved towards group 0
    final = [
        Feedback(student=lesson.student, lesson=lesson, perplexity=10.0, round=2, sentence_losses={})
        for lesson in lessons
    ]
    assert teacher.learn([f.model_copy(update={"round": 1}) for f in final]).stats == {}  # a mid-term: no step
    stats = teacher.learn(final).stats
    assert teacher.prior[0] == stats["weight_max"] > 1 / teacher.k
    fresh = _teacher(registry, "doremi")
    fresh.load_state_dict(teacher.state_dict())
    assert fresh.prior == teacher.prior


@pytest.mark.parametrize("named", [[0, 10_000], [-1], "18"])
def test_a_placement_test_outside_the_pool_is_refused_naming_the_teacher(
    registry: Registry, tmp_path: Path, named: Any
) -> None:
    """A placement test outside the pool (an index past it, a negative one, not a list) stops the run with
    an error naming the teacher, the round and the indices the pool has, so its author sees what to return."""

    class Outside(Asker):
        def placement(self, context: RoundContext) -> Any:
            return named

    class Plugin:
        @hookimpl
        def ilm_teachers(self):
            yield TeacherSpec(name="outside", summary="names sentences outside the pool", factory=Outside)

    registry.pm.register(Plugin())
    last = TINY_DOMAINS["params"]["pool_size"] - 1  # the error says which indices the pool has
    with pytest.raises(
        PluginError,
        match=rf"teacher plugin 'outside' named an invalid placement test in round 0: .*pool indices 0\.\.{last}\b",
    ):
        _records(registry, tmp_path / "run", teacher={"name": "outside"}, interaction=ROUNDS, episodes=1, budget=6)
