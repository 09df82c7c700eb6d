"""The reference protocol plugins: round plans, students that stop or choose, students that speak."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

import pytest
import torch
from conftest import small_run

from ilm_core import ExamResult, Lesson, Round, RoundResult, StudentReport, TeacherContext
from ilm_core.config import resolve
from ilm_core.loop import Experiment
from ilm_core.registry import Registry
from ilm_core.rundir import RunDir
from ilm_plugins.students import KnowWhenToStopParams, SelectUsefulParams, TransformerLMParams
from ilm_plugins.students.choosing import KnowWhenToStopStudent, SelectUsefulStudent
from ilm_plugins.students.transformer_lm import TransformerLMStudent
from ilm_plugins.torchlm.train import lesson_loss, lesson_nll

V = 10
TINY = {"dim": 16, "ffn": 32, "heads": 2}


def sentences(rng: random.Random, n: int) -> list[list[int]]:
    return [[rng.randrange(V) for _ in range(rng.randint(3, 6))] for _ in range(n)]


def test_round_plans(registry: Registry) -> None:
    batches = registry.build("interaction", "send-in-batches", {"rounds": 3}).plan(10, 4)
    assert [(r.size, r.exam, r.reward) for r in batches] == [
        (4, "mid-term", True),
        (3, "mid-term", True),
        (3, "final", True),
    ]
    quiet = registry.build("interaction", "send-in-batches", {"rounds": 3, "mid_terms": False}).plan(10, 4)
    assert [(r.exam, r.reward) for r in quiet] == [("none", False), ("none", False), ("final", True)]
    singles = registry.build("interaction", "send-in-batches", {"batch": 1}).plan(4, 2)
    assert [r.size for r in singles] == [1, 1, 1, 1] and singles[-1].exam == "final"
    for reward, rewarded in [("final", [False, False, True]), ("mid-terms", [True, True, False]), ("all", [True] * 3)]:
        plan = registry.build("interaction", "mid-term-exams", {"rounds": 3, "reward": reward}).plan(9, 2)
        assert [r.reward for r in plan] == rewarded and [r.exam for r in plan] == ["mid-term", "mid-term", "final"]


SMALL_RUN = small_run(
    n_students=3,
    student={"name": "transformer-lm", "params": {"updates": 3, **TINY}},
    teacher={"name": "select-bin", "params": {"lm_updates": 3, "lm_dim": 16}},
)


def run(registry: Registry, out: Path, **changes: Any) -> tuple[Experiment, list[dict[str, Any]]]:
    experiment = Experiment(resolve({**SMALL_RUN, **changes}, registry), registry, RunDir(out))
    experiment.run()
    return experiment, [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def test_batches_of_one_sentence(registry: Registry, tmp_path: Path) -> None:
    experiment, records = run(
        registry, tmp_path / "run", interaction={"name": "send-in-batches", "params": {"batch": 1}}
    )
    for record in records:
        assert [r["size"] for r in record["rounds"]] == [1, 1, 1]
        assert all("perplexity_mean" in r and "feedback_mean" in r for r in record["rounds"])
        assert record["tokens_sent"] > 0 and record["heldout_perplexity_mean"] is not None
    assert experiment.teacher.updates == 6  # select-bin learned after every round: 3 policy updates per episode


@pytest.mark.parametrize(("reward", "learns"), [("final", 1), ("all", 2)])
def test_mid_term_exams_reward_what_the_param_says(
    registry: Registry, tmp_path: Path, reward: str, learns: int
) -> None:
    from ilm_plugins.teachers.select_bin import SelectBinTeacher

    calls: list[int] = []
    seen: list[int] = []
    learn, select = SelectBinTeacher.learn, SelectBinTeacher.select

    def spy_learn(self, feedback):
        calls.append(feedback[0].round)
        return learn(self, feedback)

    def spy_select(self, context):
        seen.append(len(context.feedback))
        return select(self, context)

    SelectBinTeacher.learn, SelectBinTeacher.select = spy_learn, spy_select
    try:
        run(
            registry, tmp_path / "run", episodes=1, interaction={"name": "mid-term-exams", "params": {"reward": reward}}
        )
    finally:
        SelectBinTeacher.learn, SelectBinTeacher.select = learn, select
    assert len(calls) == learns and calls[-1] == 1
    assert seen == [0, 1]  # the mid-term's feedback reached the teacher before round 2 either way


def test_select_useful_trains_on_what_it_predicts_worst() -> None:
    rng = random.Random(1)
    lessons = [sentences(rng, 6) for _ in range(3)]
    seeds = [11, 12, 13]
    chooser = SelectUsefulStudent(SelectUsefulParams(updates=4, keep=0.5, **TINY)).create(seeds, V, "cpu")
    nll = lesson_nll(chooser.model, lessons, V)
    chooser.train(lessons)
    used = chooser.used()
    assert used is not None and [len(u) for u in used] == [3, 3, 3]
    for s, keep in enumerate(used):
        worst = sorted(range(6), key=lambda i: -float(nll[s, i]))[:3]
        assert sorted(worst) == keep
    assert [st["kept"] for st in chooser.stats()] == [3.0, 3.0, 3.0]
    plain = TransformerLMStudent(TransformerLMParams(updates=4, **TINY)).create(seeds, V, "cpu")
    plain.train([[lesson[i] for i in keep] for lesson, keep in zip(lessons, used, strict=True)])
    for a, b in zip(chooser.model.parameters(), plain.model.parameters(), strict=True):
        assert torch.allclose(a, b)


def test_know_when_to_stop_keeps_its_best_held_out_weights() -> None:
    rng = random.Random(2)
    lessons = [sentences(rng, 10) for _ in range(3)]
    seeds = [21, 22, 23]
    params = KnowWhenToStopParams(updates=60, lr=1e-2, holdout=0.3, check_every=1, patience=3, **TINY)
    stopper = KnowWhenToStopStudent(params).create(seeds, V, "cpu")
    stopper.train(lessons)
    used = [st["updates_used"] for st in stopper.stats()]
    assert all(0 <= u < 60 for u in used), used  # a small lesson at a high lr overfits: every student stops
    assert stopper.losses.shape[0] < 60  # and training ended once all had stopped
    positions = stopper.used()
    assert positions is not None and all(len(p) == 7 for p in positions)
    held = [[lesson[i] for i in range(10) if i not in keep] for lesson, keep in zip(lessons, positions, strict=True)]
    plain = TransformerLMStudent(TransformerLMParams(updates=60, lr=1e-2, **TINY)).create(seeds, V, "cpu")
    plain.train([[lesson[i] for i in keep] for lesson, keep in zip(lessons, positions, strict=True)])
    assert (lesson_loss(stopper.model, held, V) < lesson_loss(plain.model, held, V)).all()


def test_experimenting_students_generate_their_own_sentences(registry: Registry) -> None:
    student = registry.build("student", "experiment", {"updates": 2, "sample_max_tokens": 6, **TINY})
    rng = random.Random(3)
    lessons = [sentences(rng, 4) for _ in range(3)]
    group = student.create([1, 2, 3], V, "cpu")
    group.train(lessons)
    draws = group.generate(5, [7, 8, 9])
    assert [len(d) for d in draws] == [5, 5, 5]
    assert all(1 <= len(s) <= 6 and all(0 <= t < V for t in s) for d in draws for s in d)
    assert group.generate(5, [7, 8, 9]) == draws  # seeded
    alone = student.create([2], V, "cpu")
    alone.train(lessons[1:2])
    assert alone.generate(5, [8]) == draws[1:2]  # a student's sentences do not depend on its stack-mates


def test_ask_for_feedback_scores_the_samples_with_the_teachers_lm(registry: Registry) -> None:
    interaction = registry.build(
        "interaction", "ask-for-feedback", {"samples": 3, "judge_updates": 30, "judge_dim": 16}
    )
    corpus = [[0, 1, 2, 3]] * 20
    interaction.setup(
        TeacherContext(
            vocabulary=[str(i) for i in range(V)], teacher_corpus=corpus, pool=[[5]],
            budget=1, n_students=2, seed=0,
        )
    )  # fmt: skip
    (only,) = interaction.plan(1, 2)
    assert only.probe == 3 and only.exam == "final"
    exam = ExamResult(perplexity=50.0, item_perplexities=[50.0], nll=1.0, tokens=1)
    like_teacher = [[0, 1, 2, 3]] * 3
    unlike = [[9, 8, 7, 6]] * 3
    reports = [
        StudentReport(student=i, seed=0, final_loss=1.0, exams={"feedback": exam}, samples=s)
        for i, s in enumerate([like_teacher, unlike])
    ]
    lessons = [Lesson(student=i, indices=[0]) for i in range(2)]
    feedback = interaction.feedback(
        RoundResult(episode=0, round=0, plan=only, lessons=lessons, sent=lessons, reports=reports)
    )
    assert [f.perplexity for f in feedback] == [interaction.judge_score(like_teacher), interaction.judge_score(unlike)]
    assert feedback[0].perplexity < feedback[1].perplexity  # speaking like the teacher's corpus is judged better
    assert all(math.isfinite(f.perplexity) and f.perplexity != 50.0 for f in feedback)  # the exam never reaches it


def test_round_plans_reach_the_record(registry: Registry, tmp_path: Path) -> None:
    """Records of several rounds keep each round; one-round records keep the paper's shape."""
    _, records = run(registry, tmp_path / "a", interaction={"name": "mid-term-exams"})
    assert [r["exam"] for r in records[0]["rounds"]] == ["mid-term", "final"]
    _, plain = run(registry, tmp_path / "b")
    assert "rounds" not in plain[0]
    assert Round(size=1).exam == "final"
