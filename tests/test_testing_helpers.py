"""`ilm_devkit.testing`: the helpers a plugin author's tests use build what the core would hand a
component, and `run_tiny` runs a plugin through the real loop."""

from __future__ import annotations

from collections.abc import Iterator

from ilm_core import Lesson, Measure, MeasureResult, MeasureSpec, RoundContext, Teacher, TeacherSpec, hookimpl, set_up
from ilm_devkit.testing import (
    environment_data,
    episode_view,
    measure_context,
    plugin_registry,
    round_context,
    round_result,
    run_tiny,
    teacher_context,
)


class FirstK(Teacher):
    def select(self, context: RoundContext) -> list[Lesson]:
        return [Lesson(student=i, indices=list(range(context.size))) for i in range(context.n_students)]


class Count(Measure):
    def measure(self, episode):
        return MeasureResult(episode={"taught_count": float(sum(len(t) for t in episode.taught))})


class Plugin:
    @staticmethod
    @hookimpl
    def ilm_teachers() -> Iterator[TeacherSpec]:
        yield TeacherSpec(name="first-k-test", summary="test", factory=lambda params: FirstK())

    @staticmethod
    @hookimpl
    def ilm_measures() -> Iterator[MeasureSpec]:
        yield MeasureSpec(name="count-test", summary="test", factory=lambda params: Count())


def test_environment_data_is_valid_and_labelled():
    data = environment_data(pool_size=12)
    assert data.overlaps() == [] and len(data.pool) == 12 and sum(data.pool_in_exam_domain) == 6


def test_teacher_context_hides_the_exams_as_a_run_does():
    import pytest

    from ilm_core import HeldOutAccessError

    context = teacher_context(budget=2)
    with pytest.raises(HeldOutAccessError):
        _ = context.exam


def test_a_teacher_selects_from_a_round_context():
    teacher = plugin_registry(Plugin).build("teacher", "first-k-test")
    set_up(teacher, teacher_context(budget=3, n_students=2))
    lessons = teacher.select(round_context(size=3, n_students=2))
    assert [lesson.indices for lesson in lessons] == [[0, 1, 2], [0, 1, 2]]


def test_round_result_and_episode_view_carry_the_given_scores():
    lessons = [Lesson(student=0, indices=[0, 1]), Lesson(student=1, indices=[2])]
    result = round_result(lessons, [5.0, 7.0])
    assert [r.exams["feedback"].perplexity for r in result.reports] == [5.0, 7.0]
    assert result.plan.size == 2
    view = episode_view(lessons, [[1], [2, 3], [4, 5, 6]], perplexities=[5.0, 7.0])
    assert view.taught == [[[1], [2, 3]], [[4, 5, 6]]]
    assert [f.perplexity for f in view.feedback] == [5.0, 7.0]
    assert measure_context(n_students=2).n_students == 2


def test_run_tiny_runs_a_plugin_through_the_loop(tmp_path):
    run = run_tiny(Plugin, out=tmp_path, teacher="first-k-test", measures=["count-test"], episodes=2)
    assert [r["taught_count"] for r in run.records] == [6.0, 6.0]  # 2 students x budget 3
    assert run.summary["taught_count_last"] == 6.0
    assert (run.path / "provenance.json").is_file()
