"""Typed messages that cross a plugin boundary.

Every value a plugin hands to the core (or the core to a plugin) is one of these pydantic
models, so a plugin that breaks a rule fails where it broke it, with a message that names it.
Sentences are lists of token ids into the environment's vocabulary (ids 0..V-1).
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_serializer, model_validator

from ilm_core.errors import ConfigError

Sentence = list[int]


class Direction(StrEnum):
    """Which way a score is better: `lower` (perplexity, a loss) or `higher` (accuracy)."""

    LOWER = "lower"
    HIGHER = "higher"


#: the scores whose direction the core knows; an exam declares any other it reports (`ExamSpec.scores`)
KNOWN_SCORES: dict[str, Direction] = {"perplexity": Direction.LOWER, "accuracy": Direction.HIGHER}


def headline(scores: dict[str, float]) -> str:
    """The name of a result's headline score: its first (what decides the teacher's reward)."""
    return next(iter(scores))


def reward_of(name: str, value: float, direction: Direction) -> float:
    """The reward a teacher optimises for a headline score, higher is better: minus the log of a
    perplexity (minus the mean loss per token: the paper's teachers' reward), minus any other
    lower-is-better score, a higher-is-better score itself."""
    if name == "perplexity":
        return -math.log(max(value, 1e-12))
    return -value if direction == Direction.LOWER else value


def _with_legacy_scores(scores: dict[str, float], named: dict[str, float | None]) -> dict[str, float]:
    """`scores` with the values given in their own fields (perplexity, accuracy) added after them,
    in that order; a value given both ways must agree."""
    out = dict(scores)
    for name, value in named.items():
        if value is None:
            continue
        if name in out and not (out[name] == value or (math.isnan(out[name]) and math.isnan(value))):
            raise ValueError(f"{name} is {value} but scores[{name!r}] is {out[name]}; give one value")
        out.setdefault(name, value)
    return out


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OmitsAbsent(Message):
    """A message whose optional fields in `OMIT_WHEN_EMPTY` are left out of its dump while empty,
    so records and fingerprints written before those fields existed stay byte-identical."""

    OMIT_WHEN_EMPTY: ClassVar[tuple[str, ...]] = ()

    @model_serializer(mode="wrap")
    def _omit_absent(self, handler: Any) -> Any:
        data = handler(self)
        if isinstance(data, dict):
            for key in self.OMIT_WHEN_EMPTY:
                if key in data and data[key] in (None, [], {}):
                    del data[key]
        return data


class MinimalPair(Message):
    """Two sentences that differ in one respect; a student that knows the language gives `good`
    the higher probability (the BLiMP protocol). `phenomenon` names what the pair tests."""

    good: Sentence = Field(min_length=1)
    bad: Sentence = Field(min_length=1)
    phenomenon: str = ""


class Goal(Message):
    """One hidden per-student goal of an environment: the exams of a student that has it.

    In an environment with goals, the core gives every student of an episode one goal (drawn
    per episode, balanced over the goals, never shown to a learning teacher) and examines it on
    its goal's exams only, mid-terms and final alike. `pool[i]` says whether pool sentence i
    serves the goal: like `pool_in_exam_domain`, only a privileged reference teacher gets it.
    """

    exam: list[Sentence] = Field(min_length=1)
    exam_bank: list[Sentence] = Field(default_factory=list)
    heldout_exam: list[Sentence] = Field(default_factory=list)
    pool: list[bool] = Field(description="one label per pool sentence: whether it serves this goal")


class EnvironmentData(OmitsAbsent):
    """What an environment builds for one seed.

    `pool_in_exam_domain[i]`, when the environment has a notion of the exam's domain, says whether
    pool sentence i comes from the exam's domain or structure: the `exam-domain` measure reads these
    labels, and the core hands them only to reference teachers that declare the "privileged"
    capability (the oracle and worst case). None: the environment has no such notion; what needs
    the labels then refuses the run or skips, with a note (`require_labels`). The feedback exam,
    the exam bank and the held-out exam are drawn like each other; the held-out exam never
    reaches a teacher.
    """

    vocabulary: list[str] = Field(min_length=1)
    exam_domain: str = Field(description="human-readable name of the exam's domain, e.g. 'V1'")
    teacher_corpus: list[Sentence]
    pool: list[Sentence] = Field(min_length=1)
    pool_in_exam_domain: list[bool] | None = Field(
        None, description="one label per pool sentence: in the exam's domain or not; None = no such notion"
    )
    exam: list[Sentence] = Field(min_length=1)
    exam_bank: list[Sentence] = Field(default_factory=list)
    heldout_exam: list[Sentence] = Field(default_factory=list)
    # -- minimal pairs and artifacts (road map:
    # evaluation.student.specific-tasks.known-subset, environment.language.human-subset.semantics)
    minimal_pairs: list[MinimalPair] = Field(
        default_factory=list, description="pairs for feedback exams (like the exam bank); never reach a teacher"
    )
    heldout_minimal_pairs: list[MinimalPair] = Field(
        default_factory=list, description="pairs for the held-out evaluation; disjoint from minimal_pairs"
    )
    artifacts: dict[str, str] = Field(
        default_factory=dict,
        description="files the core writes into the run directory's environment/ folder (file name -> text), "
        "e.g. the environment's trained tokenizer",
    )
    goals: dict[str, Goal] = Field(
        default_factory=dict,
        description="hidden per-student goals (at least two, or none): each student of an episode is examined "
        "on one goal's exams only; the top-level exam sets then hold every goal's sets together",
    )

    OMIT_WHEN_EMPTY: ClassVar[tuple[str, ...]] = (
        "pool_in_exam_domain",
        "minimal_pairs",
        "heldout_minimal_pairs",
        "artifacts",
        "goals",
    )

    @model_validator(mode="after")
    def _check(self) -> EnvironmentData:
        if self.pool_in_exam_domain is not None and len(self.pool_in_exam_domain) != len(self.pool):
            raise ValueError(
                f"pool_in_exam_domain has {len(self.pool_in_exam_domain)} labels for a pool of "
                f"{len(self.pool)} sentences; give one label per pool sentence"
            )
        size = len(self.vocabulary)
        for part in ("teacher_corpus", "pool", "exam", "exam_bank", "heldout_exam"):
            for i, sentence in enumerate(getattr(self, part)):
                if not sentence:
                    raise ValueError(f"{part}[{i}] is empty; sentences need at least one token")
                bad = [t for t in sentence if not 0 <= t < size]
                if bad:
                    raise ValueError(f"{part}[{i}] has token id {bad[0]}, outside the vocabulary 0..{size - 1}")
        for part in ("minimal_pairs", "heldout_minimal_pairs"):
            for i, pair in enumerate(getattr(self, part)):
                bad = [t for t in pair.good + pair.bad if not 0 <= t < size]
                if bad:
                    raise ValueError(f"{part}[{i}] has token id {bad[0]}, outside the vocabulary 0..{size - 1}")
        for name in self.artifacts:
            if not name or "/" in name or "\\" in name or name.startswith("."):
                raise ValueError(f"artifact name {name!r} must be a plain file name (no folder, not hidden)")
        self._check_goals()
        return self

    def _check_goals(self) -> None:
        if not self.goals:
            return
        if len(self.goals) < 2:
            raise ValueError(f"goals has {len(self.goals)} goal ({list(self.goals)}); give at least two, or none")
        for name, goal in self.goals.items():
            if len(goal.pool) != len(self.pool):
                raise ValueError(
                    f"goals.{name}.pool has {len(goal.pool)} labels for a pool of {len(self.pool)} sentences"
                )
            for part in ("exam", "exam_bank", "heldout_exam"):
                whole = {tuple(s) for s in getattr(self, part)}
                outside = [i for i, s in enumerate(getattr(goal, part)) if tuple(s) not in whole]
                if outside:
                    raise ValueError(
                        f"goals.{name}.{part}[{outside[0]}] is not in the top-level {part}: the top-level exam "
                        "sets hold every goal's sets (so that the data sets stay disjoint)"
                    )

    def require_labels(self, environment: str | None, needed_by: str) -> list[bool]:
        """The pool's exam-domain labels, or a ConfigError naming the environment and what needs them."""
        if self.pool_in_exam_domain is None:
            which = f"environment '{environment}'" if environment else "the environment"
            raise ConfigError(
                f"{needed_by} needs to know which pool sentences are in the exam's domain, but {which} "
                "has no such notion (its data sets pool_in_exam_domain = None). Choose an "
                "environment that labels its pool (e.g. domains, structures), or leave out what needs the labels."
            )
        return self.pool_in_exam_domain

    def overlaps(self) -> list[str]:
        """Pairs of data sets that share a sentence (they must be disjoint).

        The good sentences of the minimal pairs count as exam material: they must not be in the
        teacher corpus or the pool, and feedback and held-out pairs must not share one.
        """
        parts = ("teacher_corpus", "pool", "exam", "exam_bank", "heldout_exam")
        sets = {p: {tuple(s) for s in getattr(self, p)} for p in parts}
        for part in ("minimal_pairs", "heldout_minimal_pairs"):
            sets[part] = {tuple(pair.good) for pair in getattr(self, part)}
        found = []
        for i, a in enumerate(parts):
            for b in parts[i + 1 :]:
                shared = sets[a] & sets[b]
                if shared:
                    found.append(f"{a} and {b} share {len(shared)} sentence(s)")
        for a, b in (
            ("minimal_pairs", "teacher_corpus"),
            ("minimal_pairs", "pool"),
            ("heldout_minimal_pairs", "teacher_corpus"),
            ("heldout_minimal_pairs", "pool"),
            ("minimal_pairs", "heldout_minimal_pairs"),
        ):
            shared = sets[a] & sets[b]
            if shared:
                found.append(f"{a} (good sentences) and {b} share {len(shared)} sentence(s)")
        return found


class Lesson(OmitsAbsent):
    """What a teacher sends to one student: pool indices, sentences it generated, or both.

    Together they hold 1 to `budget` sentences. Generated sentences are token ids into the
    environment's vocabulary, each within the environment's longest sentence (the core checks).
    `teacher` names which of several teachers sent it, when a teacher plugin combines several
    (e.g. `take-turns`): the student receives that name with the lesson (`TrainingJob.lesson_teachers`).
    """

    student: int = Field(ge=0)
    indices: list[int] = Field(default_factory=list)
    sentences: list[Sentence] = Field(
        default_factory=list, description="sentences the teacher generated (token ids), sent after the pool ones"
    )
    teacher: str | None = Field(None, description="which of several teachers sent this lesson (None: the teacher)")

    OMIT_WHEN_EMPTY: ClassVar[tuple[str, ...]] = ("teacher",)


class Judgement(Message):
    """An environment's answer to one sentence a student generated (`Environment.judge`).

    `in_language`: whether the sentence belongs to the environment's language (any of its
    domains or structures, not only the exam's). When it does not, `position` is where it leaves
    the language: the index of the first token no sentence of the language has after that prefix
    (`len(sentence)`: the prefix is fine but the sentence may not end there), and `rule` names the
    rule it breaks there. `structure` names the part of the language it belongs to, when it does.
    """

    in_language: bool
    position: int | None = Field(None, ge=0, description="first token (len = the end) where it leaves the language")
    rule: str | None = Field(None, description="the rule it breaks at `position`, in words")
    structure: str | None = Field(None, description="the domain or structure it belongs to, when in the language")


class StudentFeedback(OmitsAbsent):
    """What the interaction tells one student about its own work after a round (`Interaction.student_feedback`).

    It reaches the student with its next lesson (`TrainingJob.student_feedback`; with students kept
    for the run, the next episode's first), and only a student plugin with the "uses-feedback"
    capability receives it; `student_feedback = "withheld"` in the config removes it. Every part is
    optional: the student's exam scores (`scores`, with the `reward` its headline score gives, as in
    `Feedback`) and per-item perplexities, the sentences it generated (`samples`)
    with a judge's score of each (`sample_scores`, a perplexity, lower is better) or the
    environment's answer to each (`judgements`).
    """

    round: int = Field(0, ge=0, description="the round of the episode the feedback is about")
    scores: dict[str, float] = Field(
        default_factory=dict, description="its scores on the exam it took (the first is the headline), by name"
    )
    reward: float | None = Field(
        None, description="the reward its headline score gives (higher is better; as Feedback.reward), set by the core"
    )
    perplexity: float | None = Field(None, description="its perplexity on the exam it took")
    item_perplexities: list[float] | None = Field(None, description="its perplexity on each item of that exam")
    samples: list[Sentence] = Field(default_factory=list, description="the sentences it generated")
    sample_scores: list[float] | None = Field(None, description="a judge's perplexity of each sample (lower: better)")
    judgements: list[Judgement] | None = Field(None, description="the environment's answer to each sample")

    OMIT_WHEN_EMPTY: ClassVar[tuple[str, ...]] = (
        "scores",
        "reward",
        "perplexity",
        "item_perplexities",
        "samples",
        "sample_scores",
        "judgements",
    )

    @model_validator(mode="after")
    def _named_scores(self) -> StudentFeedback:
        self.scores = _with_legacy_scores(self.scores, {"perplexity": self.perplexity})
        self.perplexity = self.scores.get("perplexity")
        if self.reward is None and self.scores and headline(self.scores) in KNOWN_SCORES:
            first = headline(self.scores)
            value = self.scores[first]
            self.reward = reward_of(first, value, KNOWN_SCORES[first]) if math.isfinite(value) else None
        return self

    @model_validator(mode="after")
    def _one_per_sample(self) -> StudentFeedback:
        for part in ("sample_scores", "judgements"):
            values = getattr(self, part)
            if values is not None and len(values) != len(self.samples):
                raise ValueError(f"{part} has {len(values)} entries for {len(self.samples)} samples: give one each")
        return self


class ComponentScore(Message):
    """One named component of an exam (a domain, a structure, a phenomenon, a sentence length).

    `score` is in the exam's unit (perplexity, or accuracy for minimal pairs); `weight` is what
    the component counts for in the overall score (tokens, or pairs), so the components
    aggregate back to it (docs/languages.md, "Component scores").
    """

    score: float
    weight: float = Field(ge=0)


class ExamResult(OmitsAbsent):
    """One student's score on one exam: a set of named scores, its first the headline.

    `scores` maps a score's name to its value; the first is the exam's headline score, the one
    that decides the teacher's reward (`Feedback.reward`). The core knows that `perplexity` is
    better lower and `accuracy` better higher; an exam that reports other scores declares their
    direction (`ExamSpec.scores`). A perplexity exam fills `perplexity` (exp(total NLL / total
    tokens) over the exam, end-of-sentence included), `item_perplexities`, `nll` and `tokens`;
    `accuracy` (minimal-pair exams) is the share of pairs whose good sentence the student found
    more probable. A score given in its own field (`perplexity`, `accuracy`) is in `scores` too,
    after those given there, and the other way round: each reads the same value.
    A score may be NaN or infinite here (a diverged student): the core's divergence policy
    replaces it before any feedback is made. `components` are the scores of the exam's named
    parts, when it has them.
    """

    scores: dict[str, float] = Field(
        default_factory=dict, description="score name -> value; the first is the headline (decides the reward)"
    )
    perplexity: float | None = None
    item_perplexities: list[float] | None = None
    nll: float | None = None
    tokens: int | None = None
    accuracy: float | None = None
    components: dict[str, ComponentScore] | None = None

    OMIT_WHEN_EMPTY: ClassVar[tuple[str, ...]] = (
        "perplexity",
        "item_perplexities",
        "nll",
        "tokens",
        "accuracy",
        "components",
    )

    @model_validator(mode="after")
    def _named_scores(self) -> ExamResult:
        scores = _with_legacy_scores(self.scores, {"perplexity": self.perplexity, "accuracy": self.accuracy})
        if not scores:
            raise ValueError("an exam result carries at least one score (scores, or perplexity / accuracy)")
        self.scores = scores
        self.perplexity = scores.get("perplexity")
        self.accuracy = scores.get("accuracy")
        return self

    @property
    def headline(self) -> str:
        """The name of the headline score (the first of `scores`)."""
        return headline(self.scores)

    def replaced(self, scores: dict[str, float]) -> ExamResult:
        """This result with some scores replaced (the divergence policy): `perplexity` and `accuracy`
        follow their scores, and so do the per-item perplexities."""
        update: dict[str, Any] = {"scores": {**self.scores, **scores}}
        for name in ("perplexity", "accuracy"):
            if name in scores:
                update[name] = scores[name]
        if "perplexity" in scores and self.item_perplexities is not None:
            update["item_perplexities"] = [scores["perplexity"]] * len(self.item_perplexities)
        return self.model_copy(update=update)


class SentenceLoss(Message):
    """A student's loss on one sentence: its mean negative log-likelihood per predicted token (nats,
    end of sentence included), before and after a round's training. `before` is None when the
    student could not be scored before training (a student plugin without `create`)."""

    before: float | None = None
    after: float


class StudentReport(OmitsAbsent):
    """What comes back from training one student in one round: losses and exam results, no weights.

    `exams` is empty after a round without an exam. `samples` holds the sentences the student
    generated when the round asked for them (`Round.probe`); `stats` what the student plugin
    reports of itself (e.g. the updates it used); `used` the positions, in this round's lesson,
    of the sentences it trained on when it chose among them (None: all of them).
    `sentence_losses[p]`, when the job asked for them (`TrainingJob.sentence_losses`), is its loss
    on the p-th sentence of this round's lesson before and after training; `placement[p]` its loss
    (after training, nats per token) on the p-th sentence of the job's placement test.
    """

    student: int
    seed: int
    final_loss: float
    diverged: bool = False
    exams: dict[str, ExamResult]
    samples: list[Sentence] = Field(default_factory=list)
    stats: dict[str, float] = Field(default_factory=dict)
    used: list[int] | None = None
    sentence_losses: list[SentenceLoss] = Field(default_factory=list)
    placement: list[float] = Field(default_factory=list)

    OMIT_WHEN_EMPTY: ClassVar[tuple[str, ...]] = ("sentence_losses", "placement")


class Feedback(OmitsAbsent):
    """What a student tells its teacher after a round.

    `lesson` is everything the student has received in the episode so far (all rounds), so a
    teacher that credits a score to the sentences behind it needs no memory of its own.
    `scores` are the student's named scores (the first is the headline); `reward` is what a
    teacher optimises, higher is better, derived from the headline score by the core
    (`reward_of`: minus the log of a perplexity, minus another lower-is-better score, a
    higher-is-better score itself). A learning teacher reads `reward` and works on any exam.
    """

    student: int
    lesson: Lesson
    round: int = Field(0, ge=0, description="the round of the episode this feedback follows")
    scores: dict[str, float] = Field(
        default_factory=dict,
        description="score name -> the student's score, finite; the first is the headline, which decides the reward "
        "(a perplexity given in `perplexity`, an accuracy in `accuracy`, is added here)",
    )
    reward: float | None = Field(
        None,
        description="what the teacher optimises, higher is better, from the headline score: set by the core for "
        "every feedback a teacher sees (filled in here when the headline's direction is known to the core)",
    )
    perplexity: float | None = Field(
        None,
        description="the student's perplexity, lower is better, when the exam has one: its average on the feedback "
        "exam, or what the interaction measures instead (e.g. a judge's perplexity on the student's samples)",
    )
    item_perplexities: list[float] | None = Field(
        default=None, description="its perplexity on each exam item, when the interaction sends them"
    )
    accuracy: float | None = Field(
        default=None, description="minimal-pair accuracy (higher is better), when the exam has pairs"
    )
    components: dict[str, float] | None = Field(
        default=None, description="score per exam component (perplexity, or accuracy for pairs), when it has them"
    )
    sentence_losses: dict[int, SentenceLoss] = Field(
        default_factory=dict,
        description="pool index -> the student's loss on that sentence of this round's lesson, before and after "
        "the round's training, when the teacher asks for them (Teacher.sentence_losses); no labels",
    )
    placement: dict[int, float] = Field(
        default_factory=dict,
        description="pool index -> the student's loss (nats per token) on that pool sentence after this round's "
        "training, for the sentences the teacher named for a placement test (Teacher.placement); no training",
    )

    OMIT_WHEN_EMPTY: ClassVar[tuple[str, ...]] = (
        "perplexity",
        "accuracy",
        "components",
        "sentence_losses",
        "placement",
    )

    @field_validator("perplexity")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and (not math.isfinite(value) or value < 0):
            raise ValueError(
                f"perplexity is {value}; feedback carries a finite, non-negative perplexity (a diverged student's "
                "score is replaced by the run's divergence policy before feedback is made)"
            )
        return value

    @model_validator(mode="after")
    def _named_scores(self) -> Feedback:
        scores = _with_legacy_scores(self.scores, {"perplexity": self.perplexity, "accuracy": self.accuracy})
        if not scores:
            raise ValueError("feedback carries at least one score (scores, or perplexity / accuracy)")
        bad = {name: value for name, value in scores.items() if not math.isfinite(value)}
        if bad:
            raise ValueError(
                f"scores {bad} are not finite; feedback carries finite scores (a diverged student's scores are "
                "replaced by the run's divergence policy before feedback is made)"
            )
        if "perplexity" in scores:
            self._finite(scores["perplexity"])
        self.scores = scores
        self.perplexity = scores.get("perplexity")
        self.accuracy = scores.get("accuracy")
        if self.reward is None and self.headline in KNOWN_SCORES:
            first = self.headline
            self.reward = reward_of(first, scores[first], KNOWN_SCORES[first])
        if self.reward is not None and not math.isfinite(self.reward):
            raise ValueError(f"reward is {self.reward}; a reward is finite")
        return self

    @property
    def headline(self) -> str:
        """The name of the headline score (the first of `scores`), which decides the reward."""
        return headline(self.scores)


class ComponentRef(Message):
    """A plugin chosen by name with validated params; enough to rebuild it in another process."""

    name: str
    params: dict[str, Any] = Field(default_factory=dict)


class TrainingJob(Message):
    """Everything an executor needs to train and examine N students in one round.

    Without a `cohort` the students are made from `seeds`, trained on `lessons`, scored and
    forgotten (one round, one episode). With a `cohort` the executor keeps them: the first job
    naming it makes them from `seeds`, later jobs naming it (`continued`) train the same students
    further (weights and optimiser state), until a job with `release` ends it after scoring.
    `probe_seeds[i]`, when given, seeds the `probe` sentences student i generates after training.
    """

    student: ComponentRef
    exam: ComponentRef
    vocab_size: int = Field(ge=1)
    lessons: list[list[Sentence]]
    seeds: list[int]
    exams: dict[str, list[Sentence]]
    cohort: str | None = None
    release: bool = False
    continued: bool = Field(
        False,
        description="the cohort's students were made by an earlier job (or restored from a checkpoint): an "
        "executor that holds neither them nor their saved state refuses the job instead of making new students",
    )
    probe: int = Field(0, ge=0)
    probe_seeds: list[int] = Field(default_factory=list)
    labels: dict[str, list[str]] = Field(
        default_factory=dict, description="per exam, one label per item that the exam plugin's score() reads"
    )
    item_sets: dict[str, list[list[int]]] = Field(
        default_factory=dict,
        description="per exam, per student: the positions of the items that student is examined on "
        "(students with hidden goals); an exam not named here is taken whole by every student",
    )
    student_feedback: list[StudentFeedback | None] = Field(
        default_factory=list,
        description="per student, what the interaction told it about its work in the previous round (None: "
        "nothing); handed to the student before it trains (`StudentGroup.receive`); empty: none this round",
    )
    lesson_teachers: list[str | None] = Field(
        default_factory=list,
        description="per student, which of several teachers sent this round's lesson (`Lesson.teacher`); "
        "empty: one teacher",
    )
    sentence_losses: bool = Field(
        False,
        description="score every student on each sentence of its lesson before and after training "
        "(StudentReport.sentence_losses)",
    )
    placement: list[Sentence] = Field(
        default_factory=list,
        description="a placement test: sentences every student is scored on after training, never trained on "
        "(StudentReport.placement)",
    )

    @model_validator(mode="after")
    def _same_length(self) -> TrainingJob:
        if len(self.lessons) != len(self.seeds):
            raise ValueError(f"{len(self.lessons)} lessons but {len(self.seeds)} seeds")
        if self.continued and self.cohort is None:
            raise ValueError("continued = True needs a cohort (only kept students can be continued)")
        if self.probe and len(self.probe_seeds) != len(self.seeds):
            raise ValueError(f"probe = {self.probe} needs one probe seed per student, got {len(self.probe_seeds)}")
        for name, labels in self.labels.items():
            if len(labels) != len(self.exams.get(name, [])):
                raise ValueError(f"exam {name!r} has {len(self.exams.get(name, []))} items but {len(labels)} labels")
        for part in ("student_feedback", "lesson_teachers"):
            if getattr(self, part) and len(getattr(self, part)) != len(self.seeds):
                raise ValueError(f"{part} has {len(getattr(self, part))} entries for {len(self.seeds)} students")
        for name, sets in self.item_sets.items():
            size = len(self.exams.get(name, []))
            if len(sets) != len(self.seeds):
                raise ValueError(f"item_sets[{name!r}] has {len(sets)} sets for {len(self.seeds)} students")
            if any(not s or not all(0 <= j < size for j in s) for s in sets):
                raise ValueError(f"item_sets[{name!r}] has an empty set or a position outside 0..{size - 1}")
        return self

    def subset(self, indices: list[int]) -> TrainingJob:
        return self.model_copy(
            update={
                "lessons": [self.lessons[i] for i in indices],
                "seeds": [self.seeds[i] for i in indices],
                "probe_seeds": [self.probe_seeds[i] for i in indices] if self.probe_seeds else [],
                "item_sets": {name: [sets[i] for i in indices] for name, sets in self.item_sets.items()},
                "student_feedback": [self.student_feedback[i] for i in indices] if self.student_feedback else [],
                "lesson_teachers": [self.lesson_teachers[i] for i in indices] if self.lesson_teachers else [],
            }
        )


class Round(Message):
    """One round of an episode, as an interaction plans it (`Interaction.plan`).

    The teacher sends each student up to `size` new sentences; the students train on them;
    then, if `exam` is not "none", they take the exam ("final" only in the last round, which
    must have one); if `probe` > 0 each student generates that many sentences; the interaction
    turns what came back into feedback, which the teacher sees before the next round and
    learns from when `reward` is set. `repeats` lets this round resend earlier rounds' sentences.
    """

    size: int = Field(ge=1, description="new sentences each student receives in this round")
    exam: Literal["none", "mid-term", "final"] = "final"
    reward: bool = Field(True, description="the teacher learns from this round's feedback (Teacher.learn)")
    probe: int = Field(0, ge=0, description="sentences each student generates after training (asks for feedback)")
    repeats: bool = Field(False, description="may resend sentences sent in earlier rounds of the episode")


class TeacherUpdate(Message):
    """What a teacher reports after learning from one episode's feedback."""

    stats: dict[str, float] = Field(default_factory=dict)


class SentencePreferences(Message):
    """How strongly a teacher now favours each pool sentence: what it has learned, for `ilm inspect`.

    `values[i]` belongs to pool sentence i, higher = sent sooner; `std[i]`, when the teacher
    keeps one, is its uncertainty about that value. `meaning` says in a few words what the
    numbers are (a policy's logits, a posterior mean in reward units, ...).
    """

    values: list[float] = Field(min_length=1)
    std: list[float] | None = None
    meaning: str = Field(min_length=1)

    @model_validator(mode="after")
    def _lengths(self) -> SentencePreferences:
        if self.std is not None and len(self.std) != len(self.values):
            raise ValueError(f"std has {len(self.std)} entries, values {len(self.values)}: one each per pool sentence")
        return self


class InteractionOutcome(Message):
    """What an interaction returns for one episode."""

    lessons: list[Lesson]
    feedback: list[Feedback]
    reports: list[StudentReport]
    teacher: TeacherUpdate = Field(default_factory=TeacherUpdate)


#: an episode-level value of a measure: a number, numbers by name (e.g. by n-gram order), or None
MeasureValue = float | dict[str, float] | None


class EpisodeView(Message):
    """What a measure sees of one episode, once its students are scored (`Measure.measure`).

    `lessons[i]` is everything student i received in the episode (all rounds), `taught[i]` those
    sentences (pool sentences, then generated ones) and `rounds[k][i]` what it received in round k.
    `used[i]` are the pool indices student i trained on (all it received, unless its plugin chose
    among them). `feedback_items` is the episode's feedback exam; `reports` are the students'
    reports of the final round (their exam scores) and `feedback` what their teacher was told.
    """

    episode: int
    lessons: list[Lesson]
    taught: list[list[Sentence]]
    rounds: list[list[Lesson]]
    used: list[list[int]]
    feedback_items: list[Sentence]
    reports: list[StudentReport]
    feedback: list[Feedback] = Field(default_factory=list)
    goals: list[str] | None = Field(
        None, description="each student's hidden goal in this episode (environments with goals), else None"
    )


class MeasureResult(Message):
    """What a measure returns for one episode, and where each part goes in its metrics.jsonl line.

    - `per_student[name]`: one value per student (None: not defined for that student), written to
      the line's `per_student[name]`;
    - `episode[name]`: episode-level values, written as top-level keys of the line (`ilm report`,
      trackers and summary.json read them there: a number K gets `K_last` and `K_first` in
      summary.json);
    - `rounds[k]`: values of round k, added to the line's entry of that round (episodes of several
      rounds only; the paper's one-round protocol writes no round entries);
    - `notes`: shown to the user once each (e.g. a measure that found nothing to measure).

    A name may be written by one measure only, and never one the core writes itself.
    """

    per_student: dict[str, list[float | None]] = Field(default_factory=dict)
    episode: dict[str, MeasureValue] = Field(default_factory=dict)
    rounds: list[dict[str, float]] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


class EpisodeRecord(OmitsAbsent):
    """One line of metrics.jsonl.

    `measures` holds the episode-level values of the run's measures (`MeasureResult.episode`):
    they are written as top-level keys of the line (e.g. `fraction_exam_domain`, `overlap` with the
    paper's measures), and read back into `measures` from there.
    """

    episode: int
    reward_mean: float | None = Field(
        None,
        description="minus the mean feedback-exam perplexity (the paper's records; perplexity exams only). Not the "
        "reward the teacher optimises (minus the log perplexity): that is `teacher_reward_mean`",
    )
    reward_std: float | None = None
    teacher_reward_mean: float | None = Field(
        None,
        description="mean over the students of the reward the teacher optimised (Feedback.reward) in the final "
        "round (higher is better; on a perplexity exam minus the mean log perplexity)",
    )
    teacher_reward_std: float | None = None
    perplexity_mean: float | None = Field(None, description="mean feedback-exam perplexity (perplexity exams)")
    perplexity_std: float | None = None
    heldout_perplexity_mean: float | None = None
    heldout_perplexity_std: float | None = None
    entropy: float | None = None
    tokens_sent: int
    seconds: float
    diverged_students: int = 0
    per_student: dict[str, list[float | None]] = Field(default_factory=dict)  # None: a diverged loss
    teacher: dict[str, float] = Field(default_factory=dict)
    #: one entry per round, when an episode had several or its feedback was not the exam score
    rounds: list[dict[str, Any]] = Field(default_factory=list)
    # minimal pairs and component scores: absent from the line when the exam has none
    accuracy_mean: float | None = Field(None, description="mean minimal-pair accuracy on the feedback exam")
    accuracy_std: float | None = Field(None, description="its standard deviation over the students")
    scores: dict[str, float] = Field(
        default_factory=dict,
        description="the feedback (and held-out) exam's other scores, named by what they are: '<name>_mean', "
        "'<name>_std', 'heldout_<name>_mean', ... over the students",
    )
    evaluations: dict[str, float] = Field(
        default_factory=dict, description="mean score of each extra evaluation (accuracy for pairs, else perplexity)"
    )
    components: dict[str, float] = Field(
        default_factory=dict, description="'exam/component' -> mean component score over the students"
    )
    measures: dict[str, MeasureValue] = Field(
        default_factory=dict, description="episode-level values of the run's measures, by name (top-level keys)"
    )

    OMIT_WHEN_EMPTY: ClassVar[tuple[str, ...]] = (
        "reward_mean",
        "reward_std",
        "teacher_reward_mean",
        "teacher_reward_std",
        "perplexity_mean",
        "perplexity_std",
        "accuracy_mean",
        "accuracy_std",
        "scores",
        "evaluations",
        "components",
    )

    @classmethod
    def from_json(cls, line: dict[str, Any]) -> EpisodeRecord:
        """A line read back from metrics.jsonl: its keys that are no field are the measures' values.
        (Built any other way, a record refuses a key that is no field: a misspelt field is an error,
        not a measure.)"""
        extra = {k: v for k, v in line.items() if k not in cls.model_fields}
        kept = {k: v for k, v in line.items() if k in cls.model_fields}
        return cls.model_validate({**kept, "measures": {**kept.get("measures", {}), **extra}} if extra else kept)

    def to_json(self) -> dict[str, Any]:
        """The metrics.jsonl line: the measures' values at the top level; `rounds` only when there are any."""
        line = self.model_dump(mode="json", exclude={"measures"} if self.rounds else {"rounds", "measures"})
        line.update(self.model_dump(mode="json", include={"measures"})["measures"])
        return line

    def value(self, name: str) -> MeasureValue:
        """A measure's episode-level value (None when the run did not measure it)."""
        return self.measures.get(name)
