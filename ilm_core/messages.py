"""Typed messages that cross a plugin boundary.

Every value a plugin hands to the core (or the core to a plugin) is one of these pydantic
models, so a plugin that breaks a rule fails where it broke it, with a message that names it.
Sentences are lists of token ids into the environment's vocabulary (ids 0..V-1).
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Sentence = list[int]


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EnvironmentData(Message):
    """What an environment builds for one seed.

    `pool_in_exam_domain[i]` says whether pool sentence i comes from the exam's domain or
    structure (what the oracle and worst-case teachers, and the metrics, use). The feedback
    exam, the exam bank and the held-out exam are drawn like each other; the held-out exam
    never reaches a teacher.
    """

    vocabulary: list[str] = Field(min_length=1)
    exam_domain: str = Field(description="human-readable name of the exam's domain, e.g. 'V1'")
    teacher_corpus: list[Sentence]
    pool: list[Sentence] = Field(min_length=1)
    pool_in_exam_domain: list[bool]
    exam: list[Sentence] = Field(min_length=1)
    exam_bank: list[Sentence] = Field(default_factory=list)
    heldout_exam: list[Sentence] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> EnvironmentData:
        if len(self.pool_in_exam_domain) != len(self.pool):
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
        return self

    def overlaps(self) -> list[str]:
        """Pairs of data sets that share a sentence (they must be disjoint)."""
        parts = ("teacher_corpus", "pool", "exam", "exam_bank", "heldout_exam")
        sets = {p: {tuple(s) for s in getattr(self, p)} for p in parts}
        found = []
        for i, a in enumerate(parts):
            for b in parts[i + 1 :]:
                shared = sets[a] & sets[b]
                if shared:
                    found.append(f"{a} and {b} share {len(shared)} sentence(s)")
        return found


class Lesson(Message):
    """The pool indices a teacher sends to one student."""

    student: int = Field(ge=0)
    indices: list[int]


class ExamResult(Message):
    """One student's score on one exam: perplexity per item and over the whole exam.

    `perplexity` is exp(total NLL / total tokens) over the exam, end-of-sentence included.
    """

    perplexity: float
    item_perplexities: list[float]
    nll: float
    tokens: int


class StudentReport(Message):
    """What comes back from training one student in one round: losses and exam results, no weights.

    `exams` is empty after a round without an exam. `samples` holds the sentences the student
    generated when the round asked for them (`Round.probe`); `stats` what the student plugin
    reports of itself (e.g. the updates it used); `used` the positions, in this round's lesson,
    of the sentences it trained on when it chose among them (None: all of them).
    """

    student: int
    seed: int
    final_loss: float
    diverged: bool = False
    exams: dict[str, ExamResult]
    samples: list[Sentence] = Field(default_factory=list)
    stats: dict[str, float] = Field(default_factory=dict)
    used: list[int] | None = None


class Feedback(Message):
    """What a student tells its teacher after a round.

    `lesson` is everything the student has received in the episode so far (all rounds), so a
    teacher that credits a score to the sentences behind it needs no memory of its own.
    """

    student: int
    lesson: Lesson
    round: int = Field(0, ge=0, description="the round of the episode this feedback follows")
    score: float = Field(description="average exam perplexity (lower is better)")
    item_scores: list[float] | None = Field(
        default=None, description="per-item perplexities, when the interaction sends them"
    )

    @field_validator("score")
    @classmethod
    def _finite(cls, value: float) -> float:
        if math.isnan(value):
            raise ValueError("score is NaN")
        return value


class ComponentRef(Message):
    """A plugin chosen by name with validated params; enough to rebuild it in another process."""

    name: str
    params: dict[str, Any] = Field(default_factory=dict)


class TrainingJob(Message):
    """Everything an executor needs to train and examine N students in one round.

    Without a `cohort` the students are made from `seeds`, trained on `lessons`, scored and
    forgotten (one round, one episode). With a `cohort` the executor keeps them: the first job
    naming it makes them from `seeds`, later jobs naming it train the same students further
    (weights and optimiser state), until a job with `release` ends it after scoring.
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
    probe: int = Field(0, ge=0)
    probe_seeds: list[int] = Field(default_factory=list)

    @model_validator(mode="after")
    def _same_length(self) -> TrainingJob:
        if len(self.lessons) != len(self.seeds):
            raise ValueError(f"{len(self.lessons)} lessons but {len(self.seeds)} seeds")
        if self.probe and len(self.probe_seeds) != len(self.seeds):
            raise ValueError(f"probe = {self.probe} needs one probe seed per student, got {len(self.probe_seeds)}")
        return self

    def subset(self, indices: list[int]) -> TrainingJob:
        return self.model_copy(
            update={
                "lessons": [self.lessons[i] for i in indices],
                "seeds": [self.seeds[i] for i in indices],
                "probe_seeds": [self.probe_seeds[i] for i in indices] if self.probe_seeds else [],
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


class EpisodeRecord(Message):
    """One line of metrics.jsonl."""

    episode: int
    reward_mean: float
    reward_std: float
    perplexity_mean: float
    perplexity_std: float
    heldout_perplexity_mean: float | None = None
    heldout_perplexity_std: float | None = None
    fraction_exam_domain: float
    entropy: float | None = None
    tokens_sent: int
    seconds: float
    diverged_students: int = 0
    overlap: dict[str, float] = Field(default_factory=dict)
    per_student: dict[str, list[float | None]] = Field(default_factory=dict)  # None: a diverged loss
    teacher: dict[str, float] = Field(default_factory=dict)
    #: one entry per round, when an episode had several or its feedback was not the exam score
    rounds: list[dict[str, Any]] = Field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The metrics.jsonl line; `rounds` only when there are any (see above)."""
        return self.model_dump(mode="json", exclude=None if self.rounds else {"rounds"})
