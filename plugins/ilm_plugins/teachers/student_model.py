"""A teacher that keeps an explicit model of every student and chooses each one's next lesson from it.

Made for persistent students (`student_lifetime = "run"`): the same N students come back every
episode, so what a lesson does depends on who receives it. For every student the teacher keeps

- its competence: its last feedback log-perplexity (and, when the interaction sends per-item
  scores, its log-perplexity on every exam item: what it can and cannot do yet);
- the gain it gets from each pool sentence: the value model of its group (students that share a
  descriptor; `group_by = "none"` pools every student) plus its own correction, fitted to its own
  gains only.

A student's gain after an episode is how much its feedback log-perplexity fell (the first time:
minus the log-perplexity itself). Every group's values are a `value-bandit` posterior fitted to
its students' gains, compared within the episode; each student's lesson is the `budget` best
sentences of one Thompson draw from its group's posterior plus its own correction.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from ilm_core import Feedback, Lesson, RoundContext, Teacher, TeacherContext, TeacherUpdate, set_up
from ilm_plugins.teachers import StudentModelParams, ValueBanditParams
from ilm_plugins.teachers.rewards import reward_of
from ilm_plugins.teachers.rounds import unsent_scores
from ilm_plugins.teachers.value_bandit import ValueBanditTeacher


def groups_of(context: TeacherContext, group_by: str) -> list[str]:
    """Each student's group name: its descriptor's group, or one group for all."""
    if group_by == "descriptor" and len(context.students) == context.n_students:
        return [d.group for d in context.students]
    return ["all"] * context.n_students


class StudentModelTeacher(Teacher):
    def __init__(self, params: StudentModelParams):
        self.params = params

    def setup(self, context: TeacherContext) -> None:
        p = self.params
        self.group = groups_of(context, p.group_by)
        inner = ValueBanditParams(prior_std=p.prior_std, exploration=p.exploration, reward="exam")
        self.models: dict[str, ValueBanditTeacher] = {}
        for name in dict.fromkeys(self.group):
            model = ValueBanditTeacher(inner)
            set_up(model, context)
            self.models[name] = model
        n = len(context.pool)
        self.k = min(context.budget, n)
        students = context.n_students
        self.gram = torch.zeros(students, n, n, dtype=torch.float64)  # each student's own data
        self.moment = torch.zeros(students, n, dtype=torch.float64)
        self.competence: list[float | None] = [None] * students
        self.items: list[list[float] | None] = [None] * students
        self.generator = torch.Generator().manual_seed(context.seed)

    # -- the student model -------------------------------------------------------------------
    def correction(self, student: int) -> torch.Tensor:
        """What this student gains from each sentence beyond its group's value (ridge fit to its own data)."""
        n = self.gram.shape[1]
        ridge = 1.0 / self.params.student_prior_std**2
        precision = self.gram[student] + ridge * torch.eye(n, dtype=torch.float64)
        solved: torch.Tensor = torch.linalg.solve(precision, self.moment[student])
        return solved

    def estimate(self, student: int) -> torch.Tensor:
        """The estimated gain of every pool sentence for this student (posterior mean)."""
        return self.models[self.group[student]].mean + self.correction(student)

    def select(self, context: RoundContext) -> list[Lesson]:
        """The round's size of the best sentences of each student's own posterior draw (not yet sent to it).

        Feedback reaches the choice only through `learn` (the per-student corrections); the draw
        does not read `context.feedback`, so in rounds it acts on mid-terms only when they reward."""
        lessons = []
        for s in range(context.n_students):
            model = self.models[self.group[s]]
            chol = torch.linalg.cholesky(model.cov + 1e-12 * torch.eye(model.n, dtype=torch.float64))
            noise = torch.randn(model.n, generator=self.generator, dtype=torch.float64)
            draw = model.mean + self.params.exploration * (chol @ noise) + self.correction(s)
            draw = unsent_scores(draw, context, s)
            lessons.append(Lesson(student=s, indices=torch.topk(draw, min(context.size, self.k)).indices.tolist()))
        return lessons

    def learn(self, feedback: list[Feedback]) -> TeacherUpdate:
        gains: dict[int, float] = {}
        for f in feedback:
            now = -reward_of(f)  # minus the exam's reward: the log perplexity on a perplexity exam
            before = self.competence[f.student]
            gains[f.student] = -now if before is None else before - now
            self.competence[f.student] = now
            if f.item_perplexities:
                self.items[f.student] = [math.log(max(x, 1e-12)) for x in f.item_perplexities]
        stats: dict[str, float] = {}
        for name, model in self.models.items():
            mine = [f for f in feedback if self.group[f.student] == name]
            # the gain as the inner model's reward
            as_scores = [f.model_copy(update={"reward": gains[f.student]}) for f in mine]
            mean_before = model.mean.clone()
            model.learn(as_scores)
            for f in mine:
                x = torch.zeros(model.n, dtype=torch.float64)
                x[f.lesson.indices] = 1.0 / len(f.lesson.indices)
                residual = gains[f.student] - float(x @ mean_before)
                self.gram[f.student] += torch.outer(x, x)
                self.moment[f.student] += x * residual
        stats["groups"] = float(len(self.models))
        stats["gain_mean"] = sum(gains.values()) / max(len(gains), 1)
        known = [c for c in self.competence if c is not None]
        if known:
            stats["competence_mean"] = sum(known) / len(known)
        corrections = torch.stack([self.correction(s) for s in range(len(self.group))])
        stats["student_correction_std"] = float(corrections.std(dim=1).mean())
        return TeacherUpdate(stats=stats)

    def state_dict(self) -> dict[str, Any]:
        return {
            "models": {name: m.state_dict() for name, m in self.models.items()},
            "gram": self.gram,
            "moment": self.moment,
            "competence": list(self.competence),
            "items": list(self.items),
            "generator": self.generator.get_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name, model in self.models.items():
            model.load_state_dict(state["models"][name])
        self.gram, self.moment = state["gram"].clone(), state["moment"].clone()
        self.competence, self.items = list(state["competence"]), list(state["items"])
        self.generator.set_state(state["generator"])
