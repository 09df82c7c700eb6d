"""Small typed records that describe a plugin to the registry, and the table of component kinds.

A record is cheap to build: `factory` may be a lazy "module:attr" string, so listing plugins
never imports torch, fairseq or any other heavy dependency of a plugin.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ilm_core.messages import KNOWN_SCORES, Direction

_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


class NoParams(BaseModel):
    """Params model for a plugin that takes none."""

    model_config = ConfigDict(extra="forbid")


class Capability(StrEnum):
    """What a component can do beyond its interface; the core and the other components ask for
    these by name (a member equals its string: `"batched" in spec.capabilities` works)."""

    #: a student whose `train` can train many students as one model (the batched executor)
    BATCHED = "batched"
    #: a student whose `train` calls may run on several threads at once
    CONCURRENT = "concurrent"
    #: a student that keeps its weights between rounds and episodes (`StudentGroup`)
    PERSISTENT = "persistent"
    #: a student that generates sentences when a round probes it (`Round.probe`)
    EXPERIMENT = "experiment"
    #: a student that receives what it is told before it trains (`StudentGroup.receive`)
    USES_FEEDBACK = "uses-feedback"
    #: an interaction that tells students about their own work (`Interaction.student_feedback`)
    ANSWERS_STUDENTS = "answers-students"
    #: an interaction whose student feedback needs the environment's judge
    ASKS_ENVIRONMENT = "asks-environment"
    #: an environment that judges the sentences students generate (`Environment.judge`)
    JUDGES = "judges"
    #: a reference teacher that reads the pool's exam-domain labels
    PRIVILEGED = "privileged"


class PluginSpec(BaseModel):
    """Describes one component plugin (its fields: docs/writing-plugins.md, "Records"). Validated
    when the hook yields it, so a plugin's mistake is named before any run starts; `api_version`
    (`ilm_core.PLUGIN_API`) lets the core refuse or adapt a plugin written for another API."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, frozen=True)

    kind: ClassVar[str] = ""
    name: str
    summary: str
    factory: Callable[..., Any] | str
    params: type[BaseModel] = NoParams
    roadmap: tuple[str, ...] = ()
    capabilities: frozenset[Capability] = frozenset()
    requires: tuple[str, ...] = ()
    install_hint: str | None = None
    api_version: int | None = None
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
        factory: Callable[..., Any] = obj
        return factory


#: the capabilities by their old names (strings, still accepted)
PRIVILEGED = Capability.PRIVILEGED
USES_FEEDBACK = Capability.USES_FEEDBACK
ANSWERS_STUDENTS = Capability.ANSWERS_STUDENTS
ASKS_ENVIRONMENT = Capability.ASKS_ENVIRONMENT
JUDGES = Capability.JUDGES
#: where a reference teacher is expected to rank on the exam, best first: what `ilm baselines` checks
REFERENCE_RANKS: tuple[str, ...] = ("best", "chance", "worst")


class TeacherSpec(PluginSpec):
    """A teacher: chooses lessons and learns from feedback (`role`, `rank` and the "privileged"
    capability: `ilm_teachers()` in docs/writing-plugins.md). Only a reference may rank or read the
    pool's labels, so a learner's results are never a privileged reference's."""

    kind: ClassVar[str] = "teacher"
    role: Literal["learner", "reference"] = "learner"
    rank: Literal["best", "chance", "worst"] | None = None

    @model_validator(mode="after")
    def _reference_only(self) -> TeacherSpec:
        if self.role != "reference" and (self.rank is not None or PRIVILEGED in self.capabilities):
            what = f"rank={self.rank!r}" if self.rank is not None else f"capability '{PRIVILEGED}'"
            raise ValueError(
                f"teacher {self.name!r} declares {what} but role={self.role!r}; only role='reference' "
                "teachers may rank as baselines or read the pool's exam-domain labels"
            )
        return self

    @property
    def privileged(self) -> bool:
        """Whether the core hands this teacher the pool's exam-domain labels."""
        return PRIVILEGED in self.capabilities


class EnvironmentSpec(PluginSpec):
    """An environment: builds a vocabulary, teacher corpus, pool and exams. See `ilm_environments`."""

    kind: ClassVar[str] = "environment"


class StudentSpec(PluginSpec):
    """A student: trains on lessons and can be scored. See `ilm_students`."""

    kind: ClassVar[str] = "student"


class InteractionSpec(PluginSpec):
    """An interaction: plans the rounds of an episode between teacher and students. See `ilm_interactions`."""

    kind: ClassVar[str] = "interaction"


class ExamSpec(PluginSpec):
    """An exam: chooses feedback items and scores students. See `ilm_exams`.

    Args:
        scores: the direction of each score the exam reports that the core does not know
            (it knows `perplexity`, lower is better, and `accuracy`, higher is better), e.g.
            `{"bleu": Direction.HIGHER}`. A result (`ExamResult.scores`) with a score whose
            direction is neither known nor declared is refused, naming the exam.
    """

    kind: ClassVar[str] = "exam"
    scores: dict[str, Direction] = Field(default_factory=dict)

    def directions(self) -> dict[str, Direction]:
        """The direction of every score this exam may report: the core's known ones and its own."""
        return {**KNOWN_SCORES, **self.scores}


class ExecutorSpec(PluginSpec):
    """An executor: trains the N students of an episode somewhere. See `ilm_executors`."""

    kind: ClassVar[str] = "executor"


class TrackerSpec(PluginSpec):
    """A tracker: sends a run's config, scalars and figures to an outside tool. See `ilm_trackers`."""

    kind: ClassVar[str] = "tracker"


class SweepBackendSpec(PluginSpec):
    """A backend: runs the runs of a sweep somewhere. See `ilm_backends`."""

    kind: ClassVar[str] = "backend"


class MeasureSpec(PluginSpec):
    """A measure: measures each finished episode (what was taught, how the students did) for
    metrics.jsonl. See `ilm_measures`."""

    kind: ClassVar[str] = "measure"


@dataclass(frozen=True)
class ComponentKind:
    """One kind of component, declared once: its hook, its record and its interface derive from here
    (what each hook registers is its docstring in `ilm_core.hookspecs`).

    Args:
        name: what configs, flags and the registry call the kind ("teacher").
        interface: the class in `ilm_core.interfaces` that every built component is an instance of.
        record_class: the record class the hook yields (`TeacherSpec`).
        one_per_run: a run chooses exactly one (a field of `ExperimentConfig`), or any number.
    """

    name: str
    interface: str
    record_class: type[PluginSpec] = PluginSpec
    one_per_run: bool = True

    @property
    def hook(self) -> str:
        """The hook a plugin implements to register components of this kind ("ilm_teachers")."""
        return f"ilm_{self.name}s"

    @property
    def record(self) -> str:
        """The name of the record class the hook yields ("TeacherSpec")."""
        return f"{self.interface}Spec"


#: Every component kind. Adding a kind is one row here (and its interface in `ilm_core.interfaces`).
COMPONENT_KINDS: tuple[ComponentKind, ...] = (
    ComponentKind("environment", "Environment", EnvironmentSpec),
    ComponentKind("teacher", "Teacher", TeacherSpec),
    ComponentKind("student", "Student", StudentSpec),
    ComponentKind("interaction", "Interaction", InteractionSpec),
    ComponentKind("exam", "Exam", ExamSpec),
    ComponentKind("executor", "Executor", ExecutorSpec),
    ComponentKind("tracker", "Tracker", TrackerSpec, one_per_run=False),
    ComponentKind("backend", "SweepBackend", SweepBackendSpec, one_per_run=False),
    ComponentKind("measure", "Measure", MeasureSpec, one_per_run=False),
)
KIND_OF: dict[str, ComponentKind] = {kind.name: kind for kind in COMPONENT_KINDS}
KINDS: tuple[str, ...] = tuple(KIND_OF)


#: the record class of each kind, by kind name
SPEC_TYPES: dict[str, type[PluginSpec]] = {kind.name: kind.record_class for kind in COMPONENT_KINDS}


class RoadmapCell(BaseModel):
    """One step of the road map (a cell or sub-item of the paper's Table 1).

    Args:
        id: stable dotted id, e.g. "teacher.speaking.select-from-bin".
        component: teacher, student, interaction, environment, task or evaluation.
        group: the heading inside the component, e.g. "ways of speaking".
        text: the step in words.
        items: sub-items, as in Table 1.
        paper: whether the paper took this step (the starred cells).
        parent: id of the cell this one refines, or of the bullet a sub-item belongs to.
        no_star: the item is printed "(No∗) X": the paper took the condition "no X".
        condition: with `no_star`, the id of that "no X" condition (shown, never counted).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    component: Literal["teacher", "student", "interaction", "environment", "task", "evaluation"]
    group: str
    text: str
    items: tuple[str, ...] = ()
    paper: bool = False
    parent: str | None = None
    no_star: bool = False
    condition: str | None = None
    contributed_by: str | None = None
