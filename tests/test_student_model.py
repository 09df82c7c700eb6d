"""The student-model teacher adapts each student's lessons to its kind; take-turns hands the
students from teacher to teacher and `tracking` measures how their scores follow."""

from __future__ import annotations

import json
import math
import random

from ilm_core import Feedback, RoundContext, TeacherContext, set_up
from ilm_core.config import resolve
from ilm_core.loop import Experiment
from ilm_core.population import StudentDescriptor
from ilm_core.rundir import RunDir
from ilm_plugins.teachers import StudentModelParams
from ilm_plugins.teachers.student_model import StudentModelTeacher
from ilm_plugins.teachers.take_turns import tracking

N, POOL, BUDGET = 8, 20, 4


def simulate(group_by: str, episodes: int = 30) -> list[float]:
    """Students of kind "a" learn only from sentences 0-9, kind "b" only from 10-19: each
    episode a student's log-perplexity falls by 0.2 x the share of its lesson it can use.
    Returns each kind's share of useful sentences in the last 5 episodes."""
    kinds = ["a"] * (N // 2) + ["b"] * (N // 2)
    context = TeacherContext(
        vocabulary=list("ab"), teacher_corpus=[], pool=[[i % 2] for i in range(POOL)], budget=BUDGET,
        n_students=N, seed=3, students=[StudentDescriptor(group=k, student="x") for k in kinds],
    )  # fmt: skip
    teacher = StudentModelTeacher(StudentModelParams(group_by=group_by))
    set_up(teacher, context)
    rng = random.Random(0)
    log_ppl = [3.0] * N
    useful_share: list[list[float]] = [[], []]
    for episode in range(episodes):
        lessons = teacher.select(RoundContext.one_round(n_students=N, episode=episode, size=BUDGET))
        feedback = []
        for s, lesson in enumerate(lessons):
            useful = sum((j < 10) == (kinds[s] == "a") for j in lesson.indices) / BUDGET
            log_ppl[s] -= 0.2 * useful + rng.gauss(0, 0.02)
            feedback.append(Feedback(student=s, lesson=lesson, perplexity=math.exp(log_ppl[s])))
            if episode >= episodes - 5:
                useful_share[kinds[s] == "b"].append(useful)
        teacher.learn(feedback)
    return [sum(x) / len(x) for x in useful_share]


def test_with_descriptors_each_kind_gets_its_own_lessons():
    aware = simulate("descriptor")
    blind = simulate("none")
    assert min(aware) > 0.8, aware
    assert min(blind) < 0.7, blind  # one model for both kinds cannot serve both


def test_tracking_measures_each_turn():
    ppl = [40, 30, 31, 30, 20, 12, 11, 11, 11]  # worst-case teacher, then the oracle
    records = [{"heldout_perplexity_mean": p, "teacher": {"turn_teacher": float(e >= 4)}} for e, p in enumerate(ppl)]
    rows = tracking(records)
    assert [(r["teacher"], r["episodes"], r["first"], r["last"]) for r in rows] == [(0, 4, 40, 30), (1, 5, 20, 11)]
    assert rows[0]["settle"] == 1 and rows[1]["settle"] == 2


def test_take_turns_hands_persistent_students_from_teacher_to_teacher(registry, tmp_path):
    raw = {
        "episodes": 4, "n_students": 2, "budget": 4, "student_lifetime": "run",
        "teacher": {"name": "take-turns", "params": {"teachers": [{"name": "worst-case"}, {"name": "oracle"}],
                                                     "turn": 2}},
        "student": {"name": "transformer-lm", "params": {"updates": 3, "dim": 16, "ffn": 32}},
        "environment": {"name": "domains", "params": {"pool_size": 20, "teacher_corpus_size": 10,
                                                       "exam_bank_size": 20, "heldout_size": 5}},
    }  # fmt: skip
    summary = Experiment(resolve(raw, registry), registry, RunDir(tmp_path / "r")).run()
    assert summary["privileged"] is True
    records = [json.loads(x) for x in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    assert [r["teacher"]["turn_teacher"] for r in records] == [0.0, 0.0, 1.0, 1.0]
    assert [r["fraction_exam_domain"] for r in records] == [0.0, 0.0, 1.0, 1.0]
    assert [row["teacher"] for row in tracking(records)] == [0, 1]
