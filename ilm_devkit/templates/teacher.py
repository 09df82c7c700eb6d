"""`ilm new-plugin --kind teacher`: a value-table bandit that selects from the bin."""

SUMMARY = "a bandit over pool sentences: each sentence is credited with the reward of the lessons it was in"
RUN_EXAMPLE = "ilm run --teacher ${name} --env domains --episodes 20"

MODULE = '''\
"""${dist}: the teacher `${name}`.

A bandit over the pool: every sentence has a value; a lesson is sampled without replacement
from softmax(values / temperature) (Gumbel-top-k), and after the exam every sentence of a
lesson moves towards that lesson's reward relative to the episode's mean.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from typing import Any

from ilm_core import Feedback, Lesson, RoundContext, Teacher, TeacherContext, TeacherSpec, TeacherUpdate, hookimpl
from pydantic import BaseModel, ConfigDict, Field


class ${params}(BaseModel):
    """Params of `${name}` (set with --set teacher.NAME=VALUE)."""

    model_config = ConfigDict(extra="forbid")

    lr: float = Field(0.5, gt=0, description="step size of the value updates")
    temperature: float = Field(1.0, gt=0, description="softmax temperature of the selection")


class ${cls}(Teacher):
    """Learns one value per pool sentence from the students' average exam scores."""

    def __init__(self, params: ${params}):
        self.params = params

    def setup(self, context: TeacherContext) -> None:
        # the core has set self.context (the run's budget, pool, ...) before calling setup
        self.rng = random.Random(context.seed)
        self.values = [0.0] * len(context.pool)

    def select(self, context: RoundContext) -> list[Lesson]:
        # the round's size (the whole budget in one round), among what each student has not received
        lessons = []
        for i in range(context.n_students):
            allowed = context.unsent(i, len(self.values))
            lessons.append(Lesson(student=i, indices=self._sample(allowed, min(context.size, len(allowed)))))
        return lessons

    def _sample(self, allowed: list[int], k: int) -> list[int]:
        # Gumbel-top-k: the k largest value/T + Gumbel noise are a sample without replacement
        keys = {
            j: self.values[j] / self.params.temperature - math.log(-math.log(self.rng.random() or 1e-300))
            for j in allowed
        }
        return sorted(keys, key=keys.__getitem__, reverse=True)[:k]

    def learn(self, feedback: list[Feedback]) -> TeacherUpdate:
        # the reward the core derives from the exam's headline score (higher is better; minus the log of a
        # perplexity, an accuracy itself), so the teacher works on any exam
        rewards = [f.reward if f.reward is not None else 0.0 for f in feedback]
        mean = sum(rewards) / len(rewards)
        for f, reward in zip(feedback, rewards, strict=True):
            for index in f.lesson.indices:
                self.values[index] += self.params.lr * (reward - mean)
        return TeacherUpdate(stats={"entropy": self._entropy(), "value_max": max(self.values)})

    def _entropy(self) -> float:
        """Entropy of softmax(values / temperature): it falls as the teacher grows sure."""
        logits = [v / self.params.temperature for v in self.values]
        top = max(logits)
        weights = [math.exp(x - top) for x in logits]
        total = sum(weights)
        return -sum(w / total * math.log(w / total) for w in weights if w > 0)

    def state_dict(self) -> dict[str, Any]:
        return {"values": list(self.values), "rng": self.rng.getstate()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.values = list(state["values"])
        self.rng.setstate(state["rng"])


@hookimpl
def ilm_teachers() -> Iterator[TeacherSpec]:
    yield TeacherSpec(
        name="${name}",
        summary="${summary}",
        factory=${cls},
        params=${params},
        roadmap=("teacher.speaking.select-from-bin", "task.teacher.select-optimal-data"),
    )


# A step that is not in the road map yet? Add a cell, then name its id in roadmap= above:
#
# from ilm_core import RoadmapCell
#
# @hookimpl
# def ilm_roadmap_cells() -> Iterator[RoadmapCell]:
#     yield RoadmapCell(
#         id="teacher.speaking.my-new-step", component="teacher", group="ways of speaking",
#         text="What the new step is, in one sentence", parent="teacher.speaking.select-from-bin",
#     )
'''

TEST = '''\
"""Tests of `${name}`, registered in-process (no install needed)."""

from ilm_core import Lesson, set_up
from ilm_devkit.testing import feedback, plugin_registry, round_context, run_tiny, teacher_context

import ${module}


def test_registers_with_its_roadmap_cells():
    spec = plugin_registry(${module}).get("teacher", "${name}")
    assert "teacher.speaking.select-from-bin" in spec.roadmap


def test_learns_to_prefer_sentences_of_good_lessons():
    teacher = plugin_registry(${module}).build("teacher", "${name}", {"lr": 1.0})
    good = [i < 10 for i in range(20)]  # students taught sentences 0..9 score better
    set_up(teacher, teacher_context(pool_size=20, budget=4, n_students=6, seed=1))
    for episode in range(30):
        lessons = teacher.select(round_context(n_students=6, episode=episode, size=4))
        assert all(isinstance(lesson, Lesson) and len(set(lesson.indices)) == 4 for lesson in lessons)
        teacher.learn([feedback(lesson, 20.0 - 2.0 * sum(good[i] for i in lesson.indices)) for lesson in lessons])
    chosen = [i for lesson in teacher.select(round_context(n_students=6, episode=30, size=4)) for i in lesson.indices]
    assert sum(good[i] for i in chosen) / len(chosen) > 0.8


def test_a_tiny_run_with_it(tmp_path):
    run = run_tiny(${module}, out=tmp_path, teacher="${name}", episodes=2)
    assert [record["episode"] for record in run.records] == [0, 1]
    assert run.records[-1]["entropy"] > 0
'''
