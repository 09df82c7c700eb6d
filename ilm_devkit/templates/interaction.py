"""`ilm new-plugin --kind interaction`: all lessons at once, optionally per-item scores back."""

SUMMARY = "the teacher sends every lesson at once; students send back their average (and per-item) scores"
RUN_EXAMPLE = "ilm run --interaction ${name} --teacher select-bin --env domains"

MODULE = '''\
"""${dist}: the interaction `${name}`.

An episode is a list of rounds (`plan`); ilm runs them: the teacher selects up to `size`
new sentences per student, the students train on them (and keep what they learned), take the
exam when the round has one, and `feedback` turns their reports into what the teacher gets
back. Change the rounds or what comes back here; the core validates every lesson and message.
"""

from __future__ import annotations

from collections.abc import Iterator

from ilm_core import Feedback, Interaction, InteractionSpec, Round, RoundResult, hookimpl
from pydantic import BaseModel, ConfigDict, Field


class ${params}(BaseModel):
    """Params of `${name}` (set with --set interaction.NAME=VALUE)."""

    model_config = ConfigDict(extra="forbid")

    item_perplexities: bool = Field(False, description="also send the per-item perplexities back to the teacher")


class ${cls}(Interaction):
    """Runs one episode between the teacher and its students."""

    def __init__(self, params: ${params}):
        self.params = params

    def plan(self, budget: int, n_students: int) -> list[Round]:
        """One round of the whole budget, then the final exam (the paper's protocol)."""
        return [Round(size=budget, exam="final", reward=True)]

    def feedback(self, result: RoundResult) -> list[Feedback]:
        feedback = []
        for report in result.reports:  # the feedback exam only; the held-out exam never comes here
            exam = report.exams["feedback"]
            feedback.append(
                Feedback(
                    student=report.student,
                    lesson=result.lessons[report.student],  # all it received this episode
                    scores=dict(exam.scores),  # the exam's scores, its headline (e.g. perplexity) first
                    item_perplexities=list(exam.item_perplexities)
                    if self.params.item_perplexities and exam.item_perplexities
                    else None,
                    round=result.round,
                )
            )
        return feedback


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

from ilm_core import Lesson
from ilm_devkit.testing import plugin_registry, round_result, run_tiny

import ${module}


def feedback_of(params: dict) -> list:
    interaction = plugin_registry(${module}).build("interaction", "${name}", params)
    (only,) = interaction.plan(budget=1, n_students=3)
    lessons = [Lesson(student=i, indices=[i]) for i in range(3)]
    result = round_result(lessons, [10.0, 11.0, 12.0], plan=only, item_perplexities=[9.0, 11.0])
    feedback = interaction.feedback(result)
    assert [f.perplexity for f in feedback] == [10.0, 11.0, 12.0]
    return feedback


def test_sends_average_scores_back():
    assert all(f.item_perplexities is None for f in feedback_of({}))


def test_sends_item_perplexities_when_asked():
    assert all(f.item_perplexities == [9.0, 11.0] for f in feedback_of({"item_perplexities": True}))


def test_a_tiny_run_with_it(tmp_path):
    run = run_tiny(${module}, out=tmp_path, interaction="${name}")
    assert run.records[0]["perplexity_mean"] > 1
'''
