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
from ilm_core.build import build_environment
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
from ilm_core.files import atomic_write_json
from ilm_core.hookspecs import hookimpl
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
from ilm_core.loop import Experiment
from ilm_core.messages import (
    KNOWN_SCORES,
    ComponentRef,
    ComponentScore,
    Direction,
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
from ilm_core.observers import RunInfo
from ilm_core.population import PopulationGroup, StudentDescriptor
from ilm_core.progress import Steps
from ilm_core.records import (
    Capability,
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
from ilm_core.rundir import RunDir
from ilm_core.sweeps import RunOptions, RunResult, RunSpec, run_in_worker
from ilm_core.training import StudentTrainer

__version__ = "0.1.0"

#: names that moved out of the core, still importable from `ilm_core` with a DeprecationWarning
#: until plugin API 4 (CHANGELOG.md): name -> (its new module, its name there)
MOVED = {
    "LAST_EPISODES": ("ilm_core.summary", "LAST"),
    "Run": ("ilm_report.runs", "Run"),
    "Setting": ("ilm_report.runs", "Setting"),
    "find_runs": ("ilm_report.runs", "find_runs"),
    "group_settings": ("ilm_report.runs", "group_settings"),
    "load_run": ("ilm_report.runs", "load_run"),
    "mean_ci95": ("ilm_report.runs", "mean_ci95"),
    "mean_std": ("ilm_report.runs", "mean_std"),
    "oracle_baselines": ("ilm_report.runs", "oracle_baselines"),
    "ordered_seeds": ("ilm_report.baselines_cmd", "ordered_seeds"),
    "run_figures": ("ilm_report.figures", "run_figures"),
    "CellStatus": ("ilm_roadmap.status", "CellStatus"),
    "Roadmap": ("ilm_roadmap.status", "Roadmap"),
    "build_roadmap": ("ilm_roadmap.status", "build_roadmap"),
    "TeacherView": ("ilm_devkit.inspection", "TeacherView"),
    "inspect_teacher": ("ilm_devkit.inspection", "inspect_teacher"),
    "ThreadPlan": ("ilm_threads", "ThreadPlan"),
    "thread_plan": ("ilm_threads", "current"),
    "thread_guard": ("ilm_threads", "guard"),
    "prepare_threads": ("ilm_threads", "prepare"),
}


def __getattr__(name: str) -> Any:
    if name in MOVED:
        from ilm_core.compat import moved

        return moved(f"ilm_core.{name}", *MOVED[name])
    raise AttributeError(f"module 'ilm_core' has no attribute {name!r}")


__all__ = [
    "DEFAULT_MEASURES",
    "KNOWN_SCORES",
    "PLUGIN_API",
    "Capability",
    "ComponentRef",
    "ComponentScore",
    "ConfigError",
    "Direction",
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
    "RoadmapCell",
    "Round",
    "RoundContext",
    "RoundResult",
    "RunDir",
    "RunDirError",
    "RunInfo",
    "RunOptions",
    "RunResult",
    "RunSpec",
    "SentenceLoss",
    "SentencePreferences",
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
    "Tracker",
    "TrackerSpec",
    "TrainedStudents",
    "TrainingJob",
    "UnknownPluginError",
    "atomic_write_json",
    "build_environment",
    "code_fingerprint",
    "config_identity",
    "data_fingerprint",
    "default_registry",
    "fit_to_round",
    "hookimpl",
    "read_generated",
    "resolve",
    "run_in_worker",
    "seeding",
    "set_up",
]
