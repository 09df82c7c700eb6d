"""In-process tests of ilm-example-peritem (no install needed: the module is registered
into a fresh registry, as docs/writing-plugins.md shows)."""

from __future__ import annotations

import random

import ilm_example_peritem

from ilm_core import Feedback, Lesson, Registry, RoundContext, TeacherContext, set_up
from ilm_devkit.testing import round_result


def make_registry() -> Registry:
    registry = Registry()
    registry.register(ilm_example_peritem, name="example-peritem")
    return registry


def test_registers_components_and_cell():
    registry = make_registry()
    assert "interaction.student.per-item-score" in registry.get("interaction", "per-item").roadmap
    assert ilm_example_peritem.PER_ITEM_CREDIT in registry.get("teacher", "per-item-bandit").roadmap
    (cell,) = registry.roadmap_cells()
    assert cell.id == ilm_example_peritem.PER_ITEM_CREDIT and cell.component == "teacher"
    assert cell.contributed_by is not None and "example-peritem" in cell.contributed_by


def test_interaction_sends_item_perplexities():
    registry = make_registry()
    interaction = registry.build("interaction", "per-item")
    (only,) = interaction.plan(budget=3, n_students=2)
    assert only.size == 3 and only.exam == "final"
    lessons = [Lesson(student=i, indices=[i]) for i in range(2)]
    feedback = interaction.feedback(round_result(lessons, [10.0, 10.0], plan=only, item_perplexities=[8.0, 12.0]))
    assert [f.item_perplexities for f in feedback] == [[8.0, 12.0], [8.0, 12.0]]
    assert [f.lesson for f in feedback] == lessons


def test_teacher_learns_from_item_perplexities():
    """Good sentences help on every item a little; an outlier item adds large noise to the
    average. Per-item credit still finds the good sentences."""
    teacher = make_registry().build("teacher", "per-item-bandit", {"lr": 0.5})
    good = [i % 2 == 0 for i in range(40)]
    set_up(
        teacher,
        TeacherContext(
            vocabulary=list("ab"),
            teacher_corpus=[],
            pool=[[0, 1, i % 2] for i in range(40)],
            budget=5,
            n_students=8,
            seed=0,
        ),
    )
    rng = random.Random(0)
    for episode in range(25):
        lessons = teacher.select(RoundContext.one_round(n_students=8, episode=episode, size=5))
        feedback = []
        for lesson in lessons:
            share = sum(good[i] for i in lesson.indices) / len(lesson.indices)
            items = [20.0 - 8.0 * share + rng.gauss(0, 0.5) for _ in range(9)] + [rng.uniform(100, 5000)]
            feedback.append(
                Feedback(student=lesson.student, lesson=lesson, perplexity=sum(items) / 10, item_perplexities=items)
            )
        stats = teacher.learn(feedback).stats
    chosen = [
        i for lesson in teacher.select(RoundContext.one_round(n_students=8, episode=25, size=5)) for i in lesson.indices
    ]
    assert sum(good[i] for i in chosen) / len(chosen) > 0.8
    assert stats["entropy"] < 3.68  # below log(40): the teacher has grown sure


def test_falls_back_to_average_scores():
    teacher = make_registry().build("teacher", "per-item-bandit")
    set_up(
        teacher,
        TeacherContext(
            vocabulary=["a"],
            teacher_corpus=[],
            pool=[[0]] * 4,
            budget=1,
            n_students=2,
            seed=0,
        ),
    )
    feedback = [Feedback(student=i, lesson=Lesson(student=i, indices=[i]), perplexity=10.0 * (i + 1)) for i in range(2)]
    assert teacher.advantages(feedback)[0] > 0 > teacher.advantages(feedback)[1]
