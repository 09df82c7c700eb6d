"""The component interfaces a plugin implements.

Each kind is an abstract base class with the few methods the core calls. Components are
built by their plugin's factory from validated params; they receive everything else through
the context objects below, never through module globals.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ilm_core.cache import SetupCache
from ilm_core.errors import HeldOutAccessError
from ilm_core.messages import (
    EnvironmentData,
    ExamResult,
    Feedback,
    InteractionOutcome,
    Lesson,
    Sentence,
    SentencePreferences,
    StudentReport,
    TeacherUpdate,
    TrainingJob,
)
from ilm_core.progress import Steps


class Environment(ABC):
    """Builds the language: vocabulary, teacher corpus, selectable pool and exams."""

    @abstractmethod
    def build(self, seed: int) -> EnvironmentData:
        """Build all data sets for `seed`. They must be pairwise disjoint (the core checks)."""


def _ignore(message: str) -> None:
    pass


@dataclass(frozen=True)
class SetupTools:
    """What the core lends a plugin for a slow set-up (see docs/writing-plugins.md).

    `steps.step(label, total)` shows a step's progress and times it (`ilm_core.progress`);
    `cache.get_or_build(kind, key, build)` reuses a deterministic result across runs and
    processes (`ilm_core.cache`); `notify(message)` shows the user a one-line notice. The
    defaults show nothing and cache nothing, so a plugin may use them unconditionally.
    """

    steps: Steps = field(default_factory=Steps)
    cache: SetupCache = field(default_factory=SetupCache.off)
    notify: Callable[[str], None] = _ignore


@dataclass(frozen=True)
class TeacherContext:
    """What a teacher may know about the run. The held-out exam is deliberately absent."""

    vocabulary: list[str]
    teacher_corpus: list[Sentence]
    pool: list[Sentence]
    pool_in_exam_domain: list[bool]
    budget: int
    n_students: int
    seed: int
    device: str = "cpu"
    #: episodes the run is configured for: the teacher's horizon (None when not known)
    episodes: int | None = None
    #: progress steps, a set-up cache and notices for `setup` (defaults: silent, no cache)
    tools: SetupTools = field(default_factory=SetupTools)

    @classmethod
    def of(
        cls,
        data: EnvironmentData,
        *,
        budget: int,
        n_students: int,
        seed: int,
        device: str = "cpu",
        episodes: int | None = None,
        tools: SetupTools | None = None,
    ) -> TeacherContext:
        """What a teacher may know of an environment's data: everything but the exams."""
        return cls(
            vocabulary=list(data.vocabulary),
            teacher_corpus=[list(s) for s in data.teacher_corpus],
            pool=[list(s) for s in data.pool],
            pool_in_exam_domain=list(data.pool_in_exam_domain),
            budget=budget,
            n_students=n_students,
            seed=seed,
            device=device,
            episodes=episodes,
            tools=tools or SetupTools(),
        )

    @property
    def heldout_exam(self) -> list[Sentence]:
        raise HeldOutAccessError(
            "a teacher asked for the held-out exam: it is reserved for evaluating students and "
            "never reaches a teacher; learn from the feedback the interaction gives you instead"
        )

    @property
    def exam(self) -> list[Sentence]:
        raise HeldOutAccessError(
            "a teacher asked for the exam sentences: teachers only see the scores students "
            "send back (Feedback), not the exam itself"
        )


class Teacher(ABC):
    """Chooses lessons from the pool and learns from the students' feedback."""

    def setup(self, context: TeacherContext) -> None:
        """Called once before the first episode (pretrain a language model, embed the pool)."""
        self.context = context

    @abstractmethod
    def select(self, n_students: int, episode: int) -> list[Lesson]:
        """Return one lesson (pool indices, at most `budget`, no repeats) per student."""

    def learn(self, feedback: list[Feedback]) -> TeacherUpdate:
        """Learn from one episode's feedback; return stats for the metrics (e.g. entropy)."""
        return TeacherUpdate()

    def preferences(self) -> SentencePreferences | None:
        """How strongly it now favours each pool sentence (`ilm inspect`); None if it keeps no such notion.

        Called only by inspection tools, after `setup` and `load_state_dict`, never by the loop.
        """
        return None

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume this teacher (checkpointed after episodes)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what `state_dict` returned."""


class TrainedStudents(ABC):
    """A group of trained students that can be scored. Lives only inside an executor."""

    @property
    @abstractmethod
    def final_losses(self) -> list[float]:
        """Each student's training loss at its last update (NaN/inf when it diverged)."""

    @abstractmethod
    def sentence_nll(self, sentences: Sequence[Sentence]) -> tuple[list[list[float]], list[int]]:
        """Summed negative log-likelihood of each sentence per student ([S][n]), end of
        sentence included, and the number of predicted tokens of each sentence ([n])."""


class Student(ABC):
    """Trains students on lessons. A "batched" student trains many in one call."""

    @abstractmethod
    def train(self, lessons: list[list[Sentence]], seeds: list[int], vocab_size: int, device: str) -> TrainedStudents:
        """Train one student per lesson, student i initialised from seeds[i] alone."""


class Exam(ABC):
    """Chooses the feedback exam of an episode and scores students on a set of sentences."""

    def feedback_items(self, exam: list[Sentence], bank: list[Sentence], episode: int, seed: int) -> list[Sentence]:
        """The sentences of this episode's feedback exam (default: the environment's exam)."""
        return exam

    @abstractmethod
    def score(self, students: TrainedStudents, sentences: list[Sentence]) -> list[ExamResult]:
        """Score every student of the group on `sentences`."""


@dataclass
class EpisodeContext:
    """What an interaction gets for one episode.

    `examine(lessons)` trains one student per lesson and returns their reports on the
    feedback exam only; the core keeps the held-out results to itself.
    """

    episode: int
    n_students: int
    budget: int
    teacher: Teacher
    examine: Callable[[list[Lesson]], list[StudentReport]]
    extras: dict[str, Any] = field(default_factory=dict)


class Interaction(ABC):
    """Runs one episode: what the teacher sends, when, and what the students send back."""

    @abstractmethod
    def run_episode(self, context: EpisodeContext) -> InteractionOutcome:
        """Run one episode and return the lessons, feedback and student reports."""


@dataclass
class ExecutorContext:
    """What an executor learns once, before the first episode."""

    registry: Any
    student: Any  # ComponentRef of the run's student
    n_students: int
    device: str
    notify: Callable[[str], None]


class Executor(ABC):
    """Trains and examines the N students of an episode (in process, batched, or in workers)."""

    #: a one-line description of what the executor decided (shown by `ilm run`)
    description: str = ""

    def prepare(self, context: ExecutorContext) -> None:
        """Called once before the first episode: pick groups and devices, start workers."""
        self.context = context

    @abstractmethod
    def run(self, job: TrainingJob) -> list[StudentReport]:
        """Train every student of `job` and score it on every exam in `job.exams`."""

    def close(self) -> None:
        """Release workers or devices. Called once at the end of a run, even after an error."""
