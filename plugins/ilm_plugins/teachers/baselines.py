"""The paper's baseline teachers: random, oracle and worst case (Section 5.1).

They are reference teachers (role "reference" on their records); oracle and worst case also
declare "privileged", so the core hands them the pool's exam-domain labels.
"""

from __future__ import annotations

import random
from typing import Any

from ilm_core import ConfigError, Lesson, RoundContext, Teacher, TeacherContext


class _SubsetTeacher(Teacher):
    """Sends each student `budget` sentences drawn uniformly from a subset of the pool."""

    #: the name the teacher is registered under, for its errors
    plugin_name = "subset"

    def __init__(self, params: Any = None):
        self.params = params

    def allowed(self, context: TeacherContext) -> list[int]:
        return list(range(len(context.pool)))

    def setup(self, context: TeacherContext) -> None:
        self.rng = random.Random(context.seed)
        self.candidates = self.allowed(context)
        if len(self.candidates) < context.budget:
            raise ConfigError(
                f"the {self.plugin_name} teacher needs at least budget = {context.budget} suitable pool "
                f"sentences, but the pool has {len(self.candidates)}"
            )

    def select(self, context: RoundContext) -> list[Lesson]:
        budget = self.context.budget
        return [Lesson(student=i, indices=self.rng.sample(self.candidates, budget)) for i in range(context.n_students)]

    def state_dict(self) -> dict[str, Any]:
        return {"rng": self.rng.getstate()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rng.setstate(state["rng"])


class RandomTeacher(_SubsetTeacher):
    plugin_name = "random"


class OracleTeacher(_SubsetTeacher):
    plugin_name = "oracle"

    def allowed(self, context: TeacherContext) -> list[int]:
        return [i for i, inside in enumerate(context.pool_in_exam_domain) if inside]


class WorstCaseTeacher(_SubsetTeacher):
    plugin_name = "worst-case"

    def allowed(self, context: TeacherContext) -> list[int]:
        return [i for i, inside in enumerate(context.pool_in_exam_domain) if not inside]
