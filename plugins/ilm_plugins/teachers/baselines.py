"""The paper's baseline teachers: random, oracle and worst case (Section 5.1).

They are reference teachers (role "reference" on their records); oracle and worst case also
declare "privileged", so the core hands them the pool's exam-domain labels.
"""

from __future__ import annotations

import random
from typing import Any

from ilm_core import ConfigError, Lesson, RoundContext, Teacher, TeacherContext


class _SubsetTeacher(Teacher):
    """Sends each student the round's size of sentences drawn uniformly from a subset of the pool
    (never one it got earlier in the episode). They use no feedback: their lessons are fixed
    rules, the references a learning teacher is compared with."""

    #: the name the teacher is registered under, for its errors
    plugin_name = "subset"

    def __init__(self, params: Any = None):
        self.params = params

    def allowed(self, context: TeacherContext) -> list[int]:
        return list(range(len(context.pool)))

    def allowed_for_goal(self, context: TeacherContext, goal: str) -> list[int]:
        """The subset for a student with a hidden goal (environments with goals)."""
        return self.allowed(context)

    def setup(self, context: TeacherContext) -> None:
        self.rng = random.Random(context.seed)
        goals = getattr(context, "goal_labels", None) or {}
        self.by_goal = {goal: self.allowed_for_goal(context, goal) for goal in goals}
        self.candidates = self.allowed(context) if not goals else []
        for goal, subset in (self.by_goal or {"": self.candidates}).items():
            if len(subset) < context.budget:
                which = f" for goal {goal!r}" if goal else ""
                raise ConfigError(
                    f"the {self.plugin_name} teacher needs at least budget = {context.budget} suitable pool "
                    f"sentences{which}, but the pool has {len(subset)}"
                )

    def select(self, context: RoundContext) -> list[Lesson]:
        goals = context.goals if self.by_goal else None
        lessons = []
        for i in range(context.n_students):
            subset = self.by_goal[goals[i]] if goals else self.candidates
            seen = set() if context.repeats else set(context.sent[i])
            left = [j for j in subset if j not in seen] if seen else subset
            lessons.append(Lesson(student=i, indices=self.rng.sample(left, min(context.size, len(left)))))
        return lessons

    def state_dict(self) -> dict[str, Any]:
        return {"rng": self.rng.getstate()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rng.setstate(state["rng"])


class RandomTeacher(_SubsetTeacher):
    plugin_name = "random"


class OracleTeacher(_SubsetTeacher):
    """The pool's exam-domain sentences; with hidden goals, those that serve each student's own goal."""

    plugin_name = "oracle"

    def allowed(self, context: TeacherContext) -> list[int]:
        return [i for i, inside in enumerate(context.pool_in_exam_domain) if inside]

    def allowed_for_goal(self, context: TeacherContext, goal: str) -> list[int]:
        return [i for i, inside in enumerate(context.goal_pool(goal)) if inside]


class WorstCaseTeacher(_SubsetTeacher):
    """The pool's other sentences; with hidden goals, those that serve another goal than the student's."""

    plugin_name = "worst-case"

    def allowed(self, context: TeacherContext) -> list[int]:
        return [i for i, inside in enumerate(context.pool_in_exam_domain) if not inside]

    def allowed_for_goal(self, context: TeacherContext, goal: str) -> list[int]:
        return [i for i, inside in enumerate(context.goal_pool(goal)) if not inside]
