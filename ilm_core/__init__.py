"""ilm core: the plugin registry, typed messages, component interfaces and the episode loop.

Plugin authors import from here: `hookimpl`, the records (`TeacherSpec`, ...), the messages
(`Lesson`, `Feedback`, ...) and the interfaces (`Teacher`, `Student`, ...). The core imports
no reference plugin.
"""

from ilm_core.errors import (
    ConfigError,
    HeldOutAccessError,
    IlmError,
    PluginError,
    RunDirError,
    StudentDivergedError,
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
    SetupTools,
    Student,
    StudentGroup,
    Teacher,
    TeacherContext,
    TrainedStudents,
)
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

__version__ = "0.1.0"

__all__ = [
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
    "RoadmapCell",
    "Round",
    "RoundContext",
    "RoundResult",
    "RunDirError",
    "SentencePreferences",
    "SetupTools",
    "Student",
    "StudentDivergedError",
    "StudentGroup",
    "StudentReport",
    "StudentSpec",
    "Teacher",
    "TeacherContext",
    "TeacherSpec",
    "TeacherUpdate",
    "TrainedStudents",
    "TrainingJob",
    "UnknownPluginError",
    "hookimpl",
]
