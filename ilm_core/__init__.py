"""ilm core: the plugin registry, typed messages, component interfaces and the episode loop.

This module is the public API (see "Public API" in docs/writing-plugins.md): plugins, scripts
and experiments import from `ilm_core` only, never from its submodules, which may change.
It holds `hookimpl`, the records (`TeacherSpec`, ...), the messages (`Lesson`, `Feedback`, ...),
the interfaces (`Teacher`, `Student`, ...), the errors, the registry and configuration entry
points for scripts, `build_roadmap` (the road map the installed plugins make), and `seeding`
(derived seeds). The core imports no reference plugin.
"""

from typing import Any

from ilm_core import seeding
from ilm_core.cache import SetupCache, code_fingerprint, data_fingerprint
from ilm_core.compat import PLUGIN_API, PluginAPIWarning
from ilm_core.config import DEFAULT_MEASURES, ExperimentConfig, config_identity, resolve
from ilm_core.errors import (
    ConfigError,
    HeldOutAccessError,
    IlmError,
    LabelAccessError,
    PluginError,
    RunDirError,
    StudentDivergedError,
    TeacherDivergedError,
    UnknownPluginError,
)
from ilm_core.hookspecs import hookimpl
from ilm_core.inspection import TeacherView, inspect_teacher
from ilm_core.interfaces import (
    Environment,
    Exam,
    Executor,
    ExecutorContext,
    Interaction,
    Measure,
    MeasureContext,
    ReferenceTeacherContext,
    RoundContext,
    RoundResult,
    SetupTools,
    Student,
    StudentGroup,
    SweepBackend,
    Teacher,
    TeacherContext,
    Tracker,
    TrainedStudents,
    fit_to_round,
    set_up,
)
from ilm_core.lessons import read_generated
from ilm_core.loop import Experiment, RunInfo, build_environment
from ilm_core.messages import (
    ComponentRef,
    ComponentScore,
    EnvironmentData,
    EpisodeRecord,
    EpisodeView,
    ExamResult,
    Feedback,
    Goal,
    InteractionOutcome,
    Judgement,
    Lesson,
    MeasureResult,
    MinimalPair,
    Round,
    SentenceLoss,
    SentencePreferences,
    StudentFeedback,
    StudentReport,
    TeacherUpdate,
    TrainingJob,
)
from ilm_core.plots import run_figures
from ilm_core.population import PopulationGroup, StudentDescriptor
from ilm_core.progress import Steps
from ilm_core.records import (
    EnvironmentSpec,
    ExamSpec,
    ExecutorSpec,
    InteractionSpec,
    MeasureSpec,
    NoParams,
    PluginSpec,
    RoadmapCell,
    StudentSpec,
    SweepBackendSpec,
    TeacherSpec,
    TrackerSpec,
)
from ilm_core.registry import Registry, default_registry
from ilm_core.reporting import LAST as LAST_EPISODES
from ilm_core.reporting import (
    Run,
    Setting,
    find_runs,
    group_settings,
    load_run,
    mean_ci95,
    mean_std,
    oracle_baselines,
)
from ilm_core.roadmap import CellStatus, Roadmap, build_roadmap
from ilm_core.rundir import RunDir, atomic_write_json
from ilm_core.sweeps import RunOptions, RunResult, RunSpec, run_in_worker
from ilm_core.threads import ThreadPlan
from ilm_core.threads import current as thread_plan
from ilm_core.threads import guard as thread_guard
from ilm_core.threads import prepare as prepare_threads
from ilm_core.training import StudentTrainer

__version__ = "0.1.0"

#: public names whose modules are imported on first use (they pull in the command line's libraries)
_LAZY = {"ordered_seeds": "ilm_core.cli.baselines_cmd"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ilm_core' has no attribute {name!r}")


__all__ = [
    "DEFAULT_MEASURES",
    "LAST_EPISODES",
    "PLUGIN_API",
    "CellStatus",
    "ComponentRef",
    "ComponentScore",
    "ConfigError",
    "Environment",
    "EnvironmentData",
    "EnvironmentSpec",
    "EpisodeRecord",
    "EpisodeView",
    "Exam",
    "ExamResult",
    "ExamSpec",
    "Executor",
    "ExecutorContext",
    "ExecutorSpec",
    "Experiment",
    "ExperimentConfig",
    "Feedback",
    "Goal",
    "HeldOutAccessError",
    "IlmError",
    "Interaction",
    "InteractionOutcome",
    "InteractionSpec",
    "Judgement",
    "LabelAccessError",
    "Lesson",
    "Measure",
    "MeasureContext",
    "MeasureResult",
    "MeasureSpec",
    "MinimalPair",
    "NoParams",
    "PluginAPIWarning",
    "PluginError",
    "PluginSpec",
    "PopulationGroup",
    "ReferenceTeacherContext",
    "Registry",
    "Roadmap",
    "RoadmapCell",
    "Round",
    "RoundContext",
    "RoundResult",
    "Run",
    "RunDir",
    "RunDirError",
    "RunInfo",
    "RunOptions",
    "RunResult",
    "RunSpec",
    "SentenceLoss",
    "SentencePreferences",
    "Setting",
    "SetupCache",
    "SetupTools",
    "Steps",
    "Student",
    "StudentDescriptor",
    "StudentDivergedError",
    "StudentFeedback",
    "StudentGroup",
    "StudentReport",
    "StudentSpec",
    "StudentTrainer",
    "SweepBackend",
    "SweepBackendSpec",
    "Teacher",
    "TeacherContext",
    "TeacherDivergedError",
    "TeacherSpec",
    "TeacherUpdate",
    "TeacherView",
    "ThreadPlan",
    "Tracker",
    "TrackerSpec",
    "TrainedStudents",
    "TrainingJob",
    "UnknownPluginError",
    "atomic_write_json",
    "build_environment",
    "build_roadmap",
    "code_fingerprint",
    "config_identity",
    "data_fingerprint",
    "default_registry",
    "find_runs",
    "fit_to_round",
    "group_settings",
    "hookimpl",
    "inspect_teacher",
    "load_run",
    "mean_ci95",
    "mean_std",
    "oracle_baselines",
    "ordered_seeds",
    "prepare_threads",
    "read_generated",
    "resolve",
    "run_figures",
    "run_in_worker",
    "seeding",
    "set_up",
    "thread_guard",
    "thread_plan",
]
