"""Several teachers share one class: in turn (`take-turns`), or one per kind of student (`by-group`).

`take-turns` asks whether students adapt to different teachers; `by-group` is the reference for
teachers that adapt to different students: each population group (the students' descriptors)
gets its own teacher, set up for just those students.

With persistent students (`student_lifetime = "run"`), `take-turns` hands the class to its
teachers one after another, `turn` episodes each, and records which teacher taught every episode
(`teacher.turn_teacher` in metrics.jsonl); with `turns = "rounds"` the teachers take turns
between the rounds of every episode instead. Each lesson names its teacher (`Lesson.teacher`,
"0:oracle"), which a student that learns whom to trust (`trust-teachers`) hears with it. Each
teacher learns only from the feedback on its own lessons. `tracking` then measures, from the
run's records alone, how the students' exam scores follow each teacher: where each turn starts
and ends, and how many episodes the students need to settle after a change of teacher.

It is a reference instrument, not a learner (the learner it measures is a student such as
`trust-teachers`), and privileged: its teachers may include the
oracle and worst case (the most different didactic strategies), which need the pool's labels;
every teacher that does not declare "privileged" gets a context without them.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from typing import Any

from ilm_core import (
    ComponentRef,
    ConfigError,
    Feedback,
    Lesson,
    RoundContext,
    Teacher,
    TeacherContext,
    TeacherUpdate,
    default_registry,
    set_up,
)
from ilm_plugins.teachers import ByGroupParams, TakeTurnsParams


def without_labels(context: TeacherContext) -> TeacherContext:
    """An ordinary teacher's view of a (possibly privileged) context."""
    return TeacherContext(**{f.name: getattr(context, f.name) for f in dataclasses.fields(TeacherContext)})


def local_feedback(feedback: list[Feedback], ids: list[int]) -> list[Feedback]:
    """The feedback of the students `ids`, renumbered as a group's own teacher knows them (0, 1, ...)."""
    local = {s: i for i, s in enumerate(ids)}
    return [
        f.model_copy(
            update={"student": local[f.student], "lesson": f.lesson.model_copy(update={"student": local[f.student]})}
        )
        for f in feedback
        if f.student in local
    ]


def group_round(context: RoundContext, ids: list[int]) -> RoundContext:
    """A round as the teacher of the students `ids` sees it: only its students, renumbered."""
    return dataclasses.replace(
        context,
        n_students=len(ids),
        sent=[context.sent[i] for i in ids],
        feedback=[local_feedback(earlier, ids) for earlier in context.feedback],
        privileged_goals=[context.privileged_goals[i] for i in ids] if context.privileged_goals else None,
    )


def build_teachers(refs: list[ComponentRef], context: TeacherContext) -> list[Teacher]:
    """Build and set up each teacher; only those that declare "privileged" see the labels."""
    registry = default_registry()
    teachers: list[Teacher] = []
    for ref in refs:
        # Registry.get is typed PluginSpec for every kind; a teacher's record is a TeacherSpec
        spec = registry.get("teacher", ref.name)
        teacher: Teacher = registry.build("teacher", spec.name, ref.params)
        set_up(teacher, context if spec.privileged else without_labels(context))
        teachers.append(teacher)
    return teachers


class TakeTurnsTeacher(Teacher):
    def __init__(self, params: TakeTurnsParams):
        self.params = params

    def setup(self, context: TeacherContext) -> None:
        self.teachers = build_teachers(self.params.teachers, context)
        self.current = 0

    def active(self, episode: int, round: int = 0) -> int:
        """Index of the teacher whose turn `episode` (with turns = 'rounds': its `round`) is."""
        unit = round if self.params.turns == "rounds" else episode
        return (unit // self.params.turn) % len(self.teachers)

    def select(self, context: RoundContext) -> list[Lesson]:
        self.current = self.active(context.episode, context.round)
        name = f"{self.current}:{self.params.teachers[self.current].name}"  # what a student hears (Lesson.teacher)
        lessons = self.teachers[self.current].select(context)
        if not isinstance(lessons, list):
            return lessons
        return [
            lesson.model_copy(update={"teacher": name}) if isinstance(lesson, Lesson) else lesson for lesson in lessons
        ]

    def learn(self, feedback: list[Feedback]) -> TeacherUpdate:
        update = self.teachers[self.current].learn(feedback)
        return TeacherUpdate(stats={**update.stats, "turn_teacher": float(self.current)})

    def state_dict(self) -> dict[str, Any]:
        return {"teachers": [t.state_dict() for t in self.teachers], "current": self.current}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for teacher, saved in zip(self.teachers, state["teachers"], strict=True):
            teacher.load_state_dict(saved)
        self.current = int(state["current"])


class ByGroupTeacher(Teacher):
    """Each population group is taught by its own teacher, which sees only that group's students."""

    def __init__(self, params: ByGroupParams):
        self.params = params

    def setup(self, context: TeacherContext) -> None:
        kinds = [d.group for d in context.students] or ["all"] * context.n_students
        self.members = {g: [i for i, k in enumerate(kinds) if k == g] for g in dict.fromkeys(kinds)}
        teachers = self.params.teachers
        unknown = sorted(set(teachers) - set(self.members) - {"*"})
        missing = [g for g in self.members if g not in teachers and "*" not in teachers]
        if unknown or missing:
            raise ConfigError(
                f"by-group: teacher.teachers names groups {unknown or missing} "
                f"{'that the population does not have' if unknown else 'without a teacher'}; the population's "
                f"groups are {list(self.members)} (give each a teacher, or '*' for the rest)"
            )
        self.teachers: dict[str, Teacher] = {}
        for group, ids in self.members.items():
            mine = dataclasses.replace(context, n_students=len(ids), students=[context.students[i] for i in ids])
            ref = teachers.get(group, teachers.get("*"))
            self.teachers[group] = build_teachers([ref], mine)[0]  # type: ignore[list-item]

    def select(self, context: RoundContext) -> list[Lesson]:
        lessons: list[Lesson | None] = [None] * context.n_students
        for group, ids in self.members.items():
            for lesson in self.teachers[group].select(group_round(context, ids)):
                lessons[ids[lesson.student]] = lesson.model_copy(update={"student": ids[lesson.student]})
        return lessons  # type: ignore[return-value]

    def learn(self, feedback: list[Feedback]) -> TeacherUpdate:
        stats: dict[str, float] = {}
        for group, ids in self.members.items():
            update = self.teachers[group].learn(local_feedback(feedback, ids))
            stats.update({f"{group}.{k}": v for k, v in update.stats.items()})
        return TeacherUpdate(stats=stats)

    def state_dict(self) -> dict[str, Any]:
        return {group: t.state_dict() for group, t in self.teachers.items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for group, teacher in self.teachers.items():
            teacher.load_state_dict(state[group])


def tracking(
    records: list[dict[str, Any]], key: str = "heldout_perplexity_mean", tolerance: float = 0.05
) -> list[dict[str, Any]]:
    """How the students' exam score follows each turn of a take-turns run, from its records.

    One row per turn: the teacher, the score (`key`, a perplexity) in the turn's first and last
    episode, the turn's settled level (the mean log-perplexity of its last three episodes, as a
    perplexity) and `settle`, the episodes after the change of teacher until the score stays
    within `tolerance` (in log-perplexity) of that level: how fast the students adapted.
    """
    turns: list[list[dict[str, Any]]] = []
    for record in records:
        teacher = record.get("teacher", {}).get("turn_teacher")
        if teacher is None or record.get(key) is None:
            continue
        if not turns or turns[-1][0]["teacher"]["turn_teacher"] != teacher:
            turns.append([])
        turns[-1].append(record)
    rows = []
    for k, turn in enumerate(turns):
        logs = [math.log(r[key]) for r in turn]
        level = statistics.fmean(logs[-3:])
        settle = next((i for i in range(len(logs)) if all(abs(x - level) <= tolerance for x in logs[i:])), len(logs))
        rows.append(
            {
                "turn": k,
                "teacher": int(turn[0]["teacher"]["turn_teacher"]),
                "episodes": len(turn),
                "first": turn[0][key],
                "last": turn[-1][key],
                "settled": math.exp(level),
                "settle": settle,
            }
        )
    return rows
