"""The loop checks every lesson a teacher sends; a bad one ends the run naming the teacher."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from ilm_core import Lesson, PluginError, Registry, RoundContext, Teacher, TeacherSpec, hookimpl, resolve
from ilm_core.loop import Experiment
from ilm_core.rundir import RunDir

TINY = {
    "episodes": 1, "n_students": 2, "budget": 3,
    "student": {"name": "transformer-lm", "params": {"updates": 1, "dim": 16, "ffn": 32}},
    "environment": {"name": "domains", "params": {"pool_size": 20, "teacher_corpus_size": 10,
                                                   "exam_bank_size": 20, "heldout_size": 5}},
}  # fmt: skip


class Scripted(Teacher):
    """Sends the lessons its test scripted, whatever the episode."""

    lessons: ClassVar[list[Lesson]] = []

    def select(self, context: RoundContext) -> list[Lesson]:
        return Scripted.lessons

    def learn(self, feedback):
        raise AssertionError("the loop must refuse the lessons before any feedback")


class ScriptedPlugin:
    @hookimpl
    def ilm_teachers(self) -> Iterator[TeacherSpec]:
        yield TeacherSpec(name="scripted", summary="test", factory=lambda params: Scripted())


@pytest.mark.parametrize(
    ("lessons", "message"),
    [
        ([Lesson(student=0, indices=[0, 1]), Lesson(student=0, indices=[2])], "lesson 1 is addressed to student 0"),
        ([Lesson(student=0, indices=[0, 1])], "expected 2 lessons (one per student), got 1"),
        ([Lesson(student=i, indices=[i]) for i in range(3)], "expected 2 lessons (one per student), got 3"),
        ([Lesson(student=0, indices=[0, 0]), Lesson(student=1, indices=[2])], "lesson 0 repeats a sentence"),
        (
            [Lesson(student=0, indices=[0]), Lesson(student=1, indices=[99])],
            "lesson 1 has index 99, outside the pool 0..19",
        ),
        (
            [Lesson(student=0, indices=[0, 1, 2, 3]), Lesson(student=1, indices=[4])],
            "lesson 0 has 4 sentences; the budget allows 1 to 3",
        ),
    ],
)
def test_a_bad_lesson_is_refused_naming_the_teacher(registry: Registry, tmp_path: Path, lessons, message) -> None:
    registry.register(ScriptedPlugin(), name="scripted-test")
    Scripted.lessons = lessons
    config = resolve({**TINY, "teacher": {"name": "scripted"}}, registry)
    with pytest.raises(PluginError, match=re.escape(f"teacher plugin 'scripted' sent an invalid lesson: {message}")):
        Experiment(config, registry, RunDir(tmp_path / "run")).run()
