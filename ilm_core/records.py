"""Small typed records that describe a plugin to the registry (one per component kind).

A record is cheap to build: `factory` may be a lazy "module:attr" string, so listing plugins
never imports torch, fairseq or any other heavy dependency of a plugin.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from collections.abc import Callable
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Kind = Literal["environment", "teacher", "student", "interaction", "exam", "executor", "tracker"]
KINDS: tuple[str, ...] = ("environment", "teacher", "student", "interaction", "exam", "executor", "tracker")

_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


class NoParams(BaseModel):
    """Params model for a plugin that takes none."""

    model_config = ConfigDict(extra="forbid")


class PluginSpec(BaseModel):
    """Describes one component plugin.

    Args:
        name: what users type (`--teacher select-bin`): lowercase words joined by dashes.
        summary: one line for `ilm plugins`.
        factory: the class or function that builds the component from its validated params,
            or a lazy "package.module:attr" string.
        params: a pydantic model of the component's params (extra fields forbidden).
        roadmap: ids of the road-map cells (Table 1) this plugin implements.
        capabilities: free-form flags, e.g. "batched" for students that train in groups,
            "concurrent" for students whose `train` calls may run on several threads at once.
        requires: import names that must be importable; when one is missing the plugin is
            listed as unavailable with `install_hint`.
    """

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, frozen=True)

    kind: ClassVar[str] = ""
    name: str
    summary: str
    factory: Callable[..., Any] | str
    params: type[BaseModel] = NoParams
    roadmap: tuple[str, ...] = ()
    capabilities: frozenset[str] = frozenset()
    requires: tuple[str, ...] = ()
    install_hint: str | None = None
    distribution: str | None = Field(default=None, description="filled in by the registry")

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        value = value.strip().lower()
        if not _NAME.match(value):
            raise ValueError(
                f"invalid plugin name {value!r}: use lowercase letters, digits and dashes (e.g. 'select-bin')"
            )
        return value

    def missing_requirements(self) -> list[str]:
        return [mod for mod in self.requires if importlib.util.find_spec(mod) is None]

    def load_factory(self) -> Callable[..., Any]:
        if callable(self.factory):
            return self.factory
        module, _, attr = self.factory.partition(":")
        obj: Any = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
        return obj


class EnvironmentSpec(PluginSpec):
    """An environment: builds a vocabulary, teacher corpus, pool and exams. See `ilm_environments`."""

    kind: ClassVar[str] = "environment"


#: the capability of a reference teacher that reads the pool's exam-domain labels
PRIVILEGED = "privileged"
#: where a reference teacher is expected to rank on the exam, best first: what `ilm baselines` checks
REFERENCE_RANKS: tuple[str, ...] = ("best", "chance", "worst")


class TeacherSpec(PluginSpec):
    """A teacher: chooses lessons and learns from feedback. See `ilm_teachers`.

    Args (beyond PluginSpec's):
        role: "learner" (learns from feedback), or "reference": a baseline that `ilm baselines`
            runs and `ilm report` compares the learners with.
        rank: for a reference, where it is expected to rank on the exam: "best" (an upper bound,
            e.g. the paper's oracle; `ilm report` measures learners against it), "chance", "worst".

    Capability "privileged": the teacher reads the pool's exam-domain labels
    (`TeacherContext.pool_in_exam_domain`). Only a reference may declare it; the core then hands
    the labels over and marks its runs as privileged references (summary.json, `ilm report`,
    `ilm baselines`).
    """

    kind: ClassVar[str] = "teacher"
    role: Literal["learner", "reference"] = "learner"
    rank: Literal["best", "chance", "worst"] | None = None

    @model_validator(mode="after")
    def _reference_only(self) -> TeacherSpec:
        if self.role != "reference" and (self.rank is not None or PRIVILEGED in self.capabilities):
            what = f"rank={self.rank!r}" if self.rank is not None else f"capability {PRIVILEGED!r}"
            raise ValueError(
                f"teacher {self.name!r} declares {what} but role={self.role!r}; only role='reference' "
                "teachers may rank as baselines or read the pool's exam-domain labels"
            )
        return self

    @property
    def privileged(self) -> bool:
        """Whether the core hands this teacher the pool's exam-domain labels."""
        return PRIVILEGED in self.capabilities


class StudentSpec(PluginSpec):
    """A student: trains on lessons and can be scored. See `ilm_students`.

    Capability "batched": the student can train a group of students as one model.
    """

    kind: ClassVar[str] = "student"


class InteractionSpec(PluginSpec):
    """An interaction: runs one episode between teacher and students. See `ilm_interactions`."""

    kind: ClassVar[str] = "interaction"


class ExamSpec(PluginSpec):
    """An exam: chooses feedback items and scores students. See `ilm_exams`."""

    kind: ClassVar[str] = "exam"


class ExecutorSpec(PluginSpec):
    """An executor: trains the N students of an episode somewhere. See `ilm_executors`."""

    kind: ClassVar[str] = "executor"


class TrackerSpec(PluginSpec):
    """A tracker: sends a run's config, scalars and figures to an outside tool. See `ilm_trackers`."""

    kind: ClassVar[str] = "tracker"


SPEC_TYPES: dict[str, type[PluginSpec]] = {
    cls.kind: cls
    for cls in (EnvironmentSpec, TeacherSpec, StudentSpec, InteractionSpec, ExamSpec, ExecutorSpec, TrackerSpec)
}


class RoadmapCell(BaseModel):
    """One step of the road map (a cell or sub-item of the paper's Table 1).

    Args:
        id: stable dotted id, e.g. "teacher.speaking.select-from-bin".
        component: teacher, student, interaction, environment, task or evaluation.
        group: the heading inside the component, e.g. "ways of speaking".
        text: the step in words.
        items: sub-items, as in Table 1.
        paper: whether the paper took this step (the starred cells).
        parent: id of the cell this one refines, if any.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    component: Literal["teacher", "student", "interaction", "environment", "task", "evaluation"]
    group: str
    text: str
    items: tuple[str, ...] = ()
    paper: bool = False
    parent: str | None = None
    contributed_by: str | None = None
