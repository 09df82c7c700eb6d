"""The component interfaces a plugin implements.

Each kind is an abstract base class with the few methods the core calls. Components are
built by their plugin's factory from validated params; they receive everything else through
the context objects below, never through module globals.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, overload

from ilm_core.cache import SetupCache
from ilm_core.errors import HeldOutAccessError, LabelAccessError
from ilm_core.messages import (
    ComponentRef,
    EnvironmentData,
    EpisodeView,
    ExamResult,
    Feedback,
    Judgement,
    Lesson,
    MeasureResult,
    Round,
    Sentence,
    SentencePreferences,
    StudentFeedback,
    StudentReport,
    TeacherUpdate,
    TrainingJob,
)
from ilm_core.population import StudentDescriptor
from ilm_core.progress import Steps

if TYPE_CHECKING:
    from ilm_core.registry import Registry  # the registry imports this module


class Environment(ABC):
    """Builds the language: vocabulary, teacher corpus, selectable pool and exams."""

    @abstractmethod
    def build(self, seed: int) -> EnvironmentData:
        """Build all data sets for `seed`. They must be pairwise disjoint (the core checks).

        Called once per run, in the run's process, before any other plugin is set up (and by tools
        that need the data, e.g. `ilm inspect`).
        """

    def label(self, sentence: Sentence) -> bool | None:
        """Whether any sentence (e.g. one a teacher generated) is in the exam's domain or structure.

        Called for every generated sentence of a lesson when the episode is recorded (the metrics);
        None = cannot tell (the default).
        """
        return None

    def judge(self, sentence: Sentence) -> Judgement | None:
        """Whether a sentence a student generated belongs to the language, and where and which rule
        it breaks when it does not; None = cannot tell (the default). Asked only by an interaction
        with the "asks-environment" capability (docs/writing-plugins.md, "What students are told")."""
        return None

    def max_sentence_length(self) -> int | None:
        """The longest sentence a teacher may generate; None = the longest of the built data sets.

        Called once when a run is built, for the bound the loop checks generated lessons against.
        """
        return None


def _ignore(message: str) -> None:
    pass


@dataclass(frozen=True)
class SetupTools:
    """What the core lends a plugin for a slow set-up: progress steps, a set-up cache, notices
    (docs/writing-plugins.md, "Slow set-up"). The defaults show and cache nothing, so a plugin may
    use them unconditionally."""

    steps: Steps = field(default_factory=Steps)
    cache: SetupCache = field(default_factory=SetupCache.off)
    notify: Callable[[str], None] = _ignore


@dataclass(frozen=True)
class TeacherContext:
    """What a teacher may know about the run.

    The held-out exam, the exam and the pool's exam-domain labels are deliberately absent: an
    ordinary teacher learns only from feedback. A reference teacher whose record declares the
    "privileged" capability gets a `ReferenceTeacherContext`, which adds the labels.
    """

    vocabulary: list[str]
    teacher_corpus: list[Sentence]
    pool: list[Sentence]
    budget: int
    n_students: int
    seed: int
    device: str = "cpu"
    #: episodes the run is configured for: the teacher's horizon (None when not known)
    episodes: int | None = None
    #: one descriptor per student (its group, plugin, params, prior knowledge); empty when not known
    students: list[StudentDescriptor] = field(default_factory=list)
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
        privileged: bool = False,
        students: list[StudentDescriptor] | None = None,
        tools: SetupTools | None = None,
    ) -> TeacherContext:
        """What a teacher may know of an environment's data: everything but the exams (and the
        pool's labels, unless `privileged`)."""
        common: dict[str, Any] = dict(
            vocabulary=list(data.vocabulary),
            teacher_corpus=[list(s) for s in data.teacher_corpus],
            pool=[list(s) for s in data.pool],
            budget=budget,
            n_students=n_students,
            seed=seed,
            device=device,
            episodes=episodes,
            students=list(students or []),
            tools=tools or SetupTools(),
        )
        if privileged:
            goal_labels = {name: list(goal.pool) for name, goal in data.goals.items()}
            labels = data.pool_in_exam_domain if goal_labels else None
            if not goal_labels:
                labels = data.require_labels(None, "a privileged reference teacher (one that reads the pool's labels)")
            return ReferenceTeacherContext(**common, labels=list(labels or []), goal_labels=goal_labels)
        return cls(**common)

    @property
    def privileged(self) -> bool:
        """Whether this context carries the pool's exam-domain labels (a reference teacher's)."""
        return False

    @property
    def pool_in_exam_domain(self) -> list[bool]:
        raise LabelAccessError(
            "a teacher asked for pool_in_exam_domain, the labels saying which pool sentences are in the "
            "exam's domain: only a reference teacher whose record declares the 'privileged' capability "
            "(TeacherSpec(role='reference', capabilities={'privileged'})) receives them, and its runs are "
            "marked as privileged references; a learning teacher learns from the feedback instead"
        )

    def goal_pool(self, goal: str) -> list[bool]:
        """Which pool sentences serve a hidden goal (environments with goals): a privileged reference's only."""
        raise LabelAccessError(
            f"a teacher asked which pool sentences serve the hidden goal {goal!r}: only a reference teacher whose "
            "record declares the 'privileged' capability receives them; a learning teacher infers what each "
            "student needs from its feedback (RoundContext.feedback)"
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


@dataclass(frozen=True)
class ReferenceTeacherContext(TeacherContext):
    """A privileged reference teacher's context: also which pool sentences are in the exam's domain."""

    labels: list[bool] = field(default_factory=list)
    #: goal name -> which pool sentences serve it (environments with hidden per-student goals)
    goal_labels: dict[str, list[bool]] = field(default_factory=dict)

    @property
    def privileged(self) -> bool:
        return True

    @property
    def pool_in_exam_domain(self) -> list[bool]:
        return self.labels

    def goal_pool(self, goal: str) -> list[bool]:
        return self.goal_labels[goal]


@dataclass(frozen=True)
class RoundContext:
    """What a teacher knows when it chooses the lessons of one round of an episode (its fields:
    docs/writing-plugins.md, "The episode protocol"). `goals` is a privileged reference teacher's
    only: the hidden goals are what a learning teacher must infer from the feedback."""

    episode: int
    round: int
    rounds: int
    size: int
    n_students: int
    sent: list[list[int]]
    feedback: list[list[Feedback]] = field(default_factory=list)
    repeats: bool = False
    feedback_withheld: bool = False  # the run withholds in-episode feedback from the teacher
    hidden_goals: bool = field(default=False, repr=False)  # the episode's students have hidden goals
    privileged_goals: list[str] | None = field(default=None, repr=False)  # set for a privileged teacher only

    @property
    def goals(self) -> list[str] | None:
        """Each student's hidden goal this episode (a privileged reference's only); None without goals."""
        if self.hidden_goals and self.privileged_goals is None:
            raise LabelAccessError(
                "a teacher asked for the students' hidden goals (RoundContext.goals): only a reference teacher "
                "whose record declares the 'privileged' capability receives them; a learning teacher infers "
                "what each student needs from its feedback (RoundContext.feedback)"
            )
        return self.privileged_goals

    def unsent(self, student: int, pool_size: int) -> list[int]:
        """The pool indices student `student` may still receive this round (all of them when `repeats`)."""
        if self.repeats or not self.sent[student]:
            return list(range(pool_size))
        seen = set(self.sent[student])
        return [j for j in range(pool_size) if j not in seen]

    @classmethod
    def one_round(cls, *, n_students: int, episode: int, size: int) -> RoundContext:
        """The only round of an episode in the paper's protocol: `size` (the budget) sentences per student."""
        return cls(
            episode=episode, round=0, rounds=1, size=size, n_students=n_students, sent=[[] for _ in range(n_students)]
        )

    @property
    def first(self) -> bool:
        """Whether nothing has been sent yet in this episode."""
        return not any(self.sent)


class Teacher(ABC):
    """Chooses lessons from the pool and learns from the students' feedback.

    The core sets `self.context` (the `TeacherContext`) before it calls `setup`, so the other
    methods may read it and an override of `setup` need not call `super().setup`.
    """

    context: TeacherContext

    #: True: every student reports its loss on each pool sentence of its lesson, before and after the
    #: round's training (`Feedback.sentence_losses`, in rounds with feedback); costs the students no training
    sentence_losses: bool = False

    def setup(self, context: TeacherContext) -> None:
        """Called once before the first episode (pretrain a language model, embed the pool)."""

    @abstractmethod
    def select(self, context: RoundContext) -> list[Lesson]:
        """One lesson per student for a round: 1 to `context.size` sentences, none sent to its
        student earlier in the episode unless `context.repeats` (the loop refuses others)."""

    def placement(self, context: RoundContext) -> list[int]:
        """Pool indices every student is scored on, never trained on, after this round's training
        (`Feedback.placement`): the next round can choose with them. Default: none."""
        return []

    def learn(self, feedback: list[Feedback]) -> TeacherUpdate:
        """Learn from one round's feedback; return stats for the metrics (e.g. entropy).

        Called after every round whose feedback rewards the teacher (in the one-round protocol:
        once per episode).
        """
        return TeacherUpdate()

    def preferences(self) -> SentencePreferences | None:
        """How strongly it now favours each pool sentence (`ilm inspect`); None if it keeps no such notion.

        Called only by inspection tools, after `setup` and `load_state_dict`, never by the loop.
        """
        return None

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume this teacher: called after an episode when a checkpoint is written."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what `state_dict` returned: called after `setup` when a run resumes from a checkpoint."""


def fit_to_round(lessons: list[Lesson], context: RoundContext) -> list[Lesson]:
    """Lessons cut to a round: each lesson's first `size` sentences its student has not received
    in the episode. A helper for a teacher written for one round that wants to run in rounds
    (`return fit_to_round(lessons, context)`): the loop itself never trims a lesson. Lessons that
    already fit come back unchanged; anything but a list of lessons comes back as it is."""
    if not isinstance(lessons, list) or not all(isinstance(lesson, Lesson) for lesson in lessons):
        return lessons
    if context.first and all(len(lesson.indices) <= context.size for lesson in lessons):
        return lessons
    out = []
    for lesson in lessons:
        seen = set(context.sent[lesson.student]) if 0 <= lesson.student < len(context.sent) else set()
        fresh = [j for j in lesson.indices if context.repeats or j not in seen][: context.size]
        out.append(lesson.model_copy(update={"indices": fresh}))
    return out


class TrainedStudents(ABC):
    """A group of trained students that can be scored. Lives only inside an executor.

    After each training call the executor reads `final_losses`, `stats` and `used`, has the exam
    `score` it (through `sentence_nll`) and, in a round with a probe, calls `generate`.
    """

    @property
    @abstractmethod
    def final_losses(self) -> list[float]:
        """Each student's training loss at its last update (NaN/inf when it diverged)."""

    @abstractmethod
    def sentence_nll(self, sentences: Sequence[Sentence]) -> tuple[list[list[float]], list[int]]:
        """Summed negative log-likelihood of each sentence per student ([S][n]), end of
        sentence included, and the number of predicted tokens of each sentence ([n])."""

    def generate(self, count: int, seeds: list[int]) -> list[list[Sentence]]:
        """`count` sentences sampled from each student's LM, student i's draws seeded by seeds[i].

        Only students with the "experiment" capability implement it.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot generate sentences")

    def stats(self) -> list[dict[str, float]]:
        """What each student reports of its last training (e.g. updates used); {} each by default."""
        return [{} for _ in self.final_losses]

    def used(self) -> list[list[int]] | None:
        """Per student, the positions in its last lesson it trained on; None when it used them all."""
        return None


class StudentGroup(TrainedStudents):
    """Students that persist: trained further by each `train` call, weights and optimiser kept.

    A student plugin with the "persistent" capability returns one from `Student.create`.
    """

    @abstractmethod
    def train(self, lessons: list[list[Sentence]]) -> None:
        """Continue training student i on lessons[i] from where its last lesson left it: called by
        the executor once per round for every job that names the group's cohort."""

    def receive(self, feedback: list[StudentFeedback | None], teachers: list[str | None]) -> None:
        """What the students are told before they train this round (`feedback[i]`, `teachers[i]`;
        None: nothing): for "uses-feedback" students only ("What students are told"). Default: ignore it."""

    @abstractmethod
    def state_dict(self) -> dict[str, Any]:
        """Everything to restore these students: weights, optimiser state, samplers (picklable).

        Called when a checkpoint is written after an episode, for students kept for the run
        (`student_lifetime = "run"`).
        """

    @abstractmethod
    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what `state_dict` returned, into a group created from the same seeds: called
        when a resumed run first trains the cohort again."""


class Student(ABC):  # noqa: B024 - abstract by a rule (create or train), checked in __init_subclass__
    """Makes and trains students. A "batched" student trains many in one call.

    Implement `create` (and declare the "persistent" capability) for students that live
    across rounds or episodes; `train` then defaults to create-and-train. A student plugin
    that only implements `train` serves the one-round protocol. A subclass that implements
    neither is refused when it is defined.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.create is Student.create and cls.train is Student.train:
            raise TypeError(
                f"student class {cls.__name__} implements neither create() (students that persist across "
                "rounds) nor train() (the one-round protocol); implement at least one"
            )

    def create(self, seeds: list[int], vocab_size: int, device: str) -> StudentGroup:
        """Make one untrained student per seed, student i initialised from seeds[i] alone.

        Called by the executor when a job first names a cohort (several rounds, or students kept
        for the run), in whichever process trains them.
        """
        raise NotImplementedError(f"student {type(self).__name__} cannot persist (it implements no create)")

    def train(self, lessons: list[list[Sentence]], seeds: list[int], vocab_size: int, device: str) -> TrainedStudents:
        """Train one student per lesson, student i initialised from seeds[i] alone.

        Called by the executor for every job without a cohort (the one-round protocol: once per episode).
        """
        group = self.create(seeds, vocab_size, device)
        group.train(lessons)
        return group


class Exam(ABC):
    """Chooses the feedback exam of an episode and scores students on a set of sentences.

    An exam may label its items (`labels`, `evaluations`): the labels travel with the items to
    `score` in whichever process scores them, e.g. to name each item's component or to mark
    items that form minimal pairs. Their meaning is the exam's own.
    """

    def attach(self, data: EnvironmentData) -> None:
        """Called once in the run's process before the first episode (never in a worker):
        keep what the exam needs of the environment, e.g. its minimal pairs."""

    def feedback_items(self, exam: list[Sentence], bank: list[Sentence], episode: int, seed: int) -> list[Sentence]:
        """The sentences of this episode's feedback exam (default: the environment's exam).

        Called at the start of every episode, in the run's process.
        """
        return exam

    def labels(self, items: list[Sentence]) -> list[str] | None:
        """One label per feedback item, handed to `score` with them (None: no labels).

        Called at the start of every episode, with what `feedback_items` returned.
        """
        return None

    def evaluations(self, episode: int, seed: int) -> dict[str, tuple[list[Sentence], list[str] | None]]:
        """Exams scored every episode besides the feedback and held-out exams, as name -> (items,
        labels): recorded in metrics.jsonl, never sent to an interaction or a teacher.

        Called at the start of every episode; they are scored with the final round's exams.
        """
        return {}

    @abstractmethod
    def score(
        self, students: TrainedStudents, sentences: list[Sentence], labels: list[str] | None = None
    ) -> list[ExamResult]:
        """Score every student of the group on `sentences` (`labels`: what `labels`/`evaluations` gave).

        Called by the executor after training, once per exam of a round that has one, in whichever
        process trained the students (a worker's exam is built there from its name and params).
        """


@dataclass(frozen=True)
class RoundResult:
    """What came back from one round, for the interaction to turn into feedback.

    `lessons[i]` is all student i has received in the episode so far, `sent[i]` what it got in
    this round; `reports` carry the feedback exam only (never the held-out one) and any samples.
    `judgements[i][j]` is the environment's answer to student i's j-th sample (`Environment.judge`),
    when the interaction has the "asks-environment" capability and the round had a probe; else empty.
    """

    episode: int
    round: int
    plan: Round
    lessons: list[Lesson]
    sent: list[Lesson]
    reports: list[StudentReport]
    judgements: list[list[Judgement | None]] = field(default_factory=list)


class Interaction(ABC):
    """Describes the rounds of an episode and what students send back; the loop runs them.

    The paper's protocol is one round of the whole budget with the average exam score back.
    The core sets `self.context` before it calls `setup` (an override need not call `super().setup`).
    """

    context: TeacherContext

    def setup(self, context: TeacherContext) -> None:
        """Called once before the first episode, with what a teacher may know of the run."""

    @abstractmethod
    def plan(self, budget: int, n_students: int) -> list[Round]:
        """The rounds of every episode. Their sizes add up to at most `budget`; the last has the final exam.

        Called on a freshly built instance, never set up, when a config is resolved and when a run
        starts: the plan depends on the params, the budget and the number of students only.
        """

    def next_rounds(self, result: RoundResult, planned: list[Round]) -> list[Round]:
        """The rounds left in this episode, decided from what happened (`result`: the round just done);
        `planned` unchanged (the default) keeps the plan. Checked like a plan ("The episode protocol")."""
        return planned

    def feedback(self, result: RoundResult) -> list[Feedback]:
        """One Feedback per student from a round's reports: called after every round that ends with
        an exam or a probe. Default: the exam's scores (`ExamResult.scores`: its headline first, e.g. the
        average perplexity, with minimal-pair accuracy when it has them) and component scores; the core
        adds the reward (`Feedback.reward`) from the headline score."""

        out = []
        for r in result.reports:
            exam = r.exams["feedback"]
            components = {name: part.score for name, part in exam.components.items()} if exam.components else None
            out.append(
                Feedback(
                    student=r.student,
                    lesson=result.lessons[r.student],
                    scores=dict(exam.scores),
                    round=result.round,
                    components=components,
                )
            )
        return out

    def student_feedback(self, result: RoundResult) -> list[StudentFeedback | None] | None:
        """What each student is told of its own work after a round (None: nothing; the default),
        for an "answers-students" interaction: it reaches the student with its next lesson."""
        return None


@dataclass
class ExecutorContext:
    """What an executor learns once, before the first episode."""

    registry: Registry  # builds the student and exam plugins (in this process; workers load their own)
    student: ComponentRef  # the run's student: its name and params
    n_students: int
    device: str
    notify: Callable[[str], None]


class Executor(ABC):
    """Trains and examines the N students of each round (in process, batched, or in workers).

    Students of a job with a `cohort` stay where they were trained (the device, the worker)
    between jobs; only `StudentReport`s come back. `save_students`/`load_students` move a
    cohort's state in and out for checkpoints. The core sets `self.context` before it calls
    `prepare` (an override need not call `super().prepare`).
    """

    context: ExecutorContext

    #: a one-line description of what the executor decided (shown by `ilm run`)
    description: str = ""
    #: True when students train in processes this one did not start (a cluster's): `ilm bench`
    #: cannot sample their memory
    remote_workers: bool = False

    def prepare(self, context: ExecutorContext) -> None:
        """Called once before the first episode: pick groups and devices, start workers."""

    @abstractmethod
    def run(self, job: TrainingJob) -> list[StudentReport]:
        """Train every student of `job` and score it on every exam in `job.exams`: called once per round."""

    def save_students(self, cohort: str) -> dict[str, Any]:
        """The state of a kept cohort (for a checkpoint); {} when it has not been made yet.

        Called after an episode when a checkpoint is written and the run keeps students across episodes.
        """
        raise NotImplementedError(f"executor {type(self).__name__} cannot checkpoint its students")

    def load_students(self, cohort: str, state: dict[str, Any]) -> None:
        """Restore a cohort saved by `save_students`; its students are made when it is next named.

        Called after `prepare` when a run that keeps students resumes from a checkpoint.
        """
        raise NotImplementedError(f"executor {type(self).__name__} cannot restore students")

    def close(self) -> None:
        """Release workers or devices. Called once at the end of a run, even after an error."""


@overload
def set_up(component: Executor, context: ExecutorContext) -> None: ...
@overload
def set_up(component: Teacher | Interaction, context: TeacherContext) -> None: ...
@overload
def set_up(component: Measure, context: MeasureContext) -> None: ...
def set_up(component: Any, context: Any) -> None:
    """How the core sets up a teacher, an interaction or a measure (`setup`) and an executor (`prepare`): it
    sets `component.context` first, so the component's own methods may read it whatever its
    `setup` does. Call it too when a test or a composite plugin sets up a component by hand."""
    component.context = context
    if isinstance(component, Executor):
        component.prepare(context)
    else:
        component.setup(context)


class Tracker:
    """Follows one run for an outside tool (TensorBoard, MLflow): the lifecycle hooks, for the runs
    that chose it. One that raises is switched off, so it need not catch its own errors; building
    one does no I/O (open files or connections in `ilm_run_start`)."""

    def ilm_run_start(self, run: Any) -> None:
        """The run starts (or resumes: `run.first_episode` > 0); `run` is the `ilm_core.RunInfo`."""

    def ilm_episode_end(self, run: Any, record: Any) -> None:
        """An episode's `EpisodeRecord` was written to metrics.jsonl."""

    def ilm_run_end(self, run: Any, summary: dict[str, Any]) -> None:
        """summary.json was written: the run is complete."""

    def close(self) -> None:
        """Called once when the run stops, complete or not (after `ilm_run_end` when it completed)."""


@dataclass(frozen=True)
class MeasureContext:
    """What a measure may know of a run: all of the environment's data, exams and labels included
    (a measure evaluates, it never teaches); `label` is `Environment.label`."""

    data: EnvironmentData
    environment: str
    label: Callable[[Sentence], bool | None]
    n_students: int
    budget: int
    episodes: int
    notify: Callable[[str], None] = _ignore


class Measure(ABC):
    """Measures each episode: what the teacher taught and how the students did (metrics.jsonl; when
    it is called and where its results go: `ilm_measures()` in docs/writing-plugins.md)."""

    def setup(self, context: MeasureContext) -> None:
        """Called once per run: keep what the measure needs of the environment. Raise a
        `ConfigError` (one paragraph, naming the environment) when it cannot measure this run."""

    @abstractmethod
    def measure(self, episode: EpisodeView) -> MeasureResult:
        """The measure's values for one finished episode (one per student, and episode-level)."""


class SweepBackend(ABC):
    """Runs the runs of a sweep somewhere else than this machine's processes (`ilm sweep --backend
    NAME`; the contract: `ilm_backends()` in docs/writing-plugins.md). Runs already started are let
    finish when one fails, so that a rerun of the sweep reuses them."""

    @abstractmethod
    def run(self, specs: Sequence[Any], options: Any) -> Iterator[Any]:
        """Run every spec; yield each run's result as it finishes, in any order."""
