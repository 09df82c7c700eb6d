"""ilm core: the plugin registry, typed messages, component interfaces and the episode loop.

Plugin authors import from here: `hookimpl`, the records (`TeacherSpec`, ...), the messages
(`Lesson`, `Feedback`, ...), the interfaces (`Teacher`, `Student`, ...), and for tests the
`Registry` (look up and build plugins in-process) and `build_roadmap` (the road map the
installed plugins make). Everything public is importable from `ilm_core` alone. The core
imports no reference plugin.
"""

from ilm_core.config import ExperimentConfig
from ilm_core.errors import (
    ConfigError,
    HeldOutAccessError,
    IlmError,
    PluginError,
    RunDirError,
    StudentDivergedError,
    TeacherDivergedError,
    UnknownPluginError,
)
from ilm_core.hookspecs import hookimpl
from ilm_core.interfaces import (
    Environment,
    Exam,
    Executor,
    ExecutorContext,
    Interaction,
    RoundContext,
    RoundResult,
    Student,
    StudentGroup,
    Teacher,
    TeacherContext,
    TrainedStudents,
)
from ilm_core.loop import RunInfo
from ilm_core.messages import (
    ComponentRef,
    EnvironmentData,
    EpisodeRecord,
    ExamResult,
    Feedback,
    InteractionOutcome,
    Lesson,
    Round,
    SentencePreferences,
    StudentReport,
    TeacherUpdate,
    TrainingJob,
)
from ilm_core.records import (
    EnvironmentSpec,
    ExamSpec,
    ExecutorSpec,
    InteractionSpec,
    NoParams,
    PluginSpec,
    RoadmapCell,
    StudentSpec,
    TeacherSpec,
)
from ilm_core.registry import Registry
from ilm_core.roadmap import CellStatus, Roadmap, build_roadmap

__version__ = "0.1.0"

__all__ = [
    "CellStatus",
    "ComponentRef",
    "ConfigError",
    "Environment",
    "EnvironmentData",
    "EnvironmentSpec",
    "EpisodeRecord",
    "Exam",
    "ExamResult",
    "ExamSpec",
    "Executor",
    "ExecutorContext",
    "ExecutorSpec",
    "ExperimentConfig",
    "Feedback",
    "HeldOutAccessError",
    "IlmError",
    "Interaction",
    "InteractionOutcome",
    "InteractionSpec",
    "Lesson",
    "NoParams",
    "PluginError",
    "PluginSpec",
    "Registry",
    "Roadmap",
    "RoadmapCell",
    "Round",
    "RoundContext",
    "RoundResult",
    "RunDirError",
    "RunInfo",
    "SentencePreferences",
    "Student",
    "StudentDivergedError",
    "StudentGroup",
    "StudentReport",
    "StudentSpec",
    "Teacher",
    "TeacherContext",
    "TeacherDivergedError",
    "TeacherSpec",
    "TeacherUpdate",
    "TrainedStudents",
    "TrainingJob",
    "UnknownPluginError",
    "build_roadmap",
    "hookimpl",
]
