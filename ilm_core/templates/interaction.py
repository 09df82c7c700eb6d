"""`ilm new-plugin --kind interaction`: all lessons at once, optionally per-item scores back."""

SUMMARY = "the teacher sends every lesson at once; students send back their average (and per-item) scores"
RUN_EXAMPLE = "ilm run --interaction ${name} --teacher select-bin --env domains"

MODULE = '''\
"""${dist}: the interaction `${name}`.

One episode: the teacher selects a lesson per student, ilm trains and examines the students
(`context.examine`), and each student sends its exam score back as `Feedback`. Change what
goes out or comes back here; the core validates every lesson and message.
"""

from __future__ import annotations

from collections.abc import Iterator

from ilm_core import EpisodeContext, Feedback, Interaction, InteractionOutcome, InteractionSpec, hookimpl
from pydantic import BaseModel, ConfigDict, Field


class ${params}(BaseModel):
    """Params of `${name}` (set with --set interaction.NAME=VALUE)."""

    model_config = ConfigDict(extra="forbid")

    item_scores: bool = Field(False, description="also send the per-item perplexities back to the teacher")


class ${cls}(Interaction):
    """Runs one episode between the teacher and its students."""

    def __init__(self, params: ${params}):
        self.params = params

    def run_episode(self, context: EpisodeContext) -> InteractionOutcome:
        lessons = context.teacher.select(context.n_students, context.episode)
        reports = context.examine(lessons)  # trains one student per lesson, scores the feedback exam
        feedback = []
        for report in reports:
            result = report.exams["feedback"]
            feedback.append(
                Feedback(
                    student=report.student,
                    lesson=lessons[report.student],
                    score=result.perplexity,
                    item_scores=list(result.item_perplexities) if self.params.item_scores else None,
                )
            )
        update = context.teacher.learn(feedback)
        return InteractionOutcome(lessons=lessons, feedback=feedback, reports=reports, teacher=update)


@hookimpl
def ilm_interactions() -> Iterator[InteractionSpec]:
    yield InteractionSpec(
        name="${name}",
        summary="${summary}",
        factory=${cls},
        params=${params},
        roadmap=("interaction.teacher.send-all-at-once", "interaction.student.single-average-score"),
    )


# A step that is not in the road map yet? Add a cell, then name its id in roadmap= above:
#
# from ilm_core import RoadmapCell
#
# @hookimpl
# def ilm_roadmap_cells() -> Iterator[RoadmapCell]:
#     yield RoadmapCell(
#         id="interaction.teacher.my-new-step", component="interaction", group="teacher side",
#         text="What the new step is, in one sentence", parent="interaction.teacher.send-all-at-once",
#     )
'''

TEST = '''\
"""Tests of `${name}`, registered in-process (no install needed)."""

from ilm_core import EpisodeContext, ExamResult, Feedback, Lesson, StudentReport, Teacher, TeacherUpdate
from ilm_core.registry import Registry

import ${module}


class FixedTeacher(Teacher):
    def __init__(self):
        self.seen: list[Feedback] = []

    def select(self, n_students: int, episode: int) -> list[Lesson]:
        return [Lesson(student=i, indices=[i]) for i in range(n_students)]

    def learn(self, feedback: list[Feedback]) -> TeacherUpdate:
        self.seen = feedback
        return TeacherUpdate()


def examine(lessons: list[Lesson]) -> list[StudentReport]:
    return [
        StudentReport(student=lesson.student, seed=0, final_loss=1.0,
                      exams={"feedback": ExamResult(perplexity=10.0 + lesson.student,
                                                    item_perplexities=[9.0, 11.0], nll=1.0, tokens=2)})
        for lesson in lessons
    ]


def run_once(params: dict) -> FixedTeacher:
    registry = Registry()
    registry.register(${module}, name="${name}")
    interaction = registry.build("interaction", "${name}", params)
    teacher = FixedTeacher()
    context = EpisodeContext(episode=0, n_students=3, budget=1, teacher=teacher, examine=examine)
    outcome = interaction.run_episode(context)
    assert [f.score for f in outcome.feedback] == [10.0, 11.0, 12.0]
    return teacher


def test_sends_average_scores_back():
    assert all(f.item_scores is None for f in run_once({}).seen)


def test_sends_item_scores_when_asked():
    assert all(f.item_scores == [9.0, 11.0] for f in run_once({"item_scores": True}).seen)
'''
