"""A guarded plugin passes for the plugin (isinstance, attributes) and names itself when a method raises."""

from __future__ import annotations

import sys

import pytest

from ilm_core import Lesson, PluginError, RoundContext, Teacher, TeacherContext, set_up
from ilm_core.guard import guard_plugin


class Counting(Teacher):
    """Sends pool sentence 0; raises in `select` once `broken` is set, exits in `learn`."""

    broken = False

    def setup(self, context: TeacherContext) -> None:
        self.calls = 0

    def select(self, context: RoundContext) -> list[Lesson]:
        self.calls += 1
        if self.broken:
            raise ValueError("no lesson today")
        return [Lesson(student=i, indices=[0]) for i in range(context.n_students)]

    def learn(self, feedback):
        sys.exit(3)


def context() -> TeacherContext:
    return TeacherContext(vocabulary=["a"], teacher_corpus=[], pool=[[0]], budget=1, n_students=2, seed=0)


def test_a_guarded_plugin_passes_for_the_plugin() -> None:
    teacher = Counting()
    guarded = guard_plugin(teacher, "teacher", "counting")
    assert isinstance(guarded, Teacher) and isinstance(guarded, Counting)
    set_up(guarded, context())  # writes go through to the plugin
    assert teacher.context.budget == 1 and guarded.context is teacher.context
    lessons = guarded.select(RoundContext.one_round(n_students=2, episode=0, size=1))
    assert [lesson.indices for lesson in lessons] == [[0], [0]] and teacher.calls == 1


def test_a_raising_method_is_named_with_its_plugin() -> None:
    guarded = guard_plugin(Counting(), "teacher", "counting")
    set_up(guarded, context())
    guarded.broken = True
    with pytest.raises(PluginError) as info:
        guarded.select(RoundContext.one_round(n_students=2, episode=0, size=1))
    assert (info.value.plugin, info.value.stage) == ("counting", "select")
    assert str(info.value) == "teacher plugin 'counting' raised in select(): ValueError: no lesson today"
    with pytest.raises(PluginError, match=r"teacher plugin 'counting' called sys.exit\(3\) in learn\(\)"):
        guarded.learn([])
