"""Students: the native torch causal Transformer LM (trains many students as one model)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer, model_validator

from ilm_core import Capability, PluginSpec, StudentSpec, hookimpl


class TrainingParams(BaseModel):
    """How the native students learn a lesson (the recipe both architectures share)."""

    model_config = ConfigDict(extra="forbid")

    updates: int = Field(20, ge=0, description="training updates on the lesson")
    lr: float = Field(1e-3, gt=0)
    batch_size: int | None = Field(None, ge=1, description="sentences per update; None = the whole lesson")
    clip_norm: float | None = Field(1.0, gt=0, description="per-student gradient clipping")
    weight_decay: float = Field(0.0, ge=0)
    betas: tuple[float, float] = (0.9, 0.98)
    warmup: int = Field(0, ge=0)
    schedule: Literal["constant", "inverse_sqrt"] = "constant"


class TransformerLMParams(TrainingParams):
    """Model size and training recipe of the native student.

    The defaults are the CPU recipe chosen by measured separation of oracle, random and
    worst-case lessons (README, "Student recipe"), not the paper's 400 updates.
    """

    layers: int = Field(2, ge=1)
    dim: int = Field(64, ge=8)
    heads: int = Field(4, ge=1)
    ffn: int = Field(256, ge=1)
    dropout: float = Field(0.0, ge=0, lt=1)
    max_len: int = Field(64, ge=2, description="longest sentence + 1")
    positions: Literal["learned", "sinusoidal"] = "learned"
    norm: Literal["pre", "post"] = "pre"

    @model_validator(mode="after")
    def _heads_divide(self) -> TransformerLMParams:
        if self.dim % self.heads:
            raise ValueError(f"dim = {self.dim} must be divisible by heads = {self.heads}")
        return self


class ExperimentParams(TransformerLMParams):
    """The native student, plus how it samples the sentences it generates when asked."""

    temperature: float = Field(1.0, gt=0, description="sampling temperature of generated sentences")
    sample_max_tokens: int = Field(20, ge=1, description="longest generated sentence, in tokens")


class KnowWhenToStopParams(TransformerLMParams):
    """The native student that holds out part of each lesson; `updates` is now the most it trains."""

    holdout: float = Field(0.2, gt=0, lt=1, description="share of each lesson held out to decide when to stop")
    check_every: int = Field(2, ge=1, description="updates between two looks at the held-out loss")
    patience: int = Field(2, ge=1, description="looks without improvement before a student stops")
    min_delta: float = Field(0.0, ge=0, description="smallest drop of the held-out loss that counts as improving")


class SelectUsefulParams(TransformerLMParams):
    """The native student that trains only on the share of its lesson it finds most useful."""

    keep: float = Field(0.5, gt=0, le=1, description="share of the offered sentences it trains on (at least one)")
    choose: Literal["worst-predicted", "random"] = Field(
        "worst-predicted",
        description="'worst-predicted': the sentences its own model gives the highest loss (what it knows of "
        "itself, nothing of the exam); 'random': a random share of the same size (the ablation)",
    )

    @model_serializer(mode="wrap")
    def _omit_later_default(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """`choose` is written only when set, so that configs written before it keep their identity."""
        data: dict[str, Any] = handler(self)
        if data.get("choose") == "worst-predicted":
            data.pop("choose")
        return data


class LearnFromAnswersParams(ExperimentParams):
    """The experimenting student that learns from the answers to the sentences it generated."""

    learn_accepted: bool = Field(True, description="train on its own sentences that were accepted, with the lesson")
    unlikelihood: float = Field(
        1.0, ge=0, description="weight of the unlikelihood of the token where a rejected sentence goes wrong"
    )
    judged_share: float = Field(
        0.5, gt=0, le=1, description="told a judging LM's scores: the best-scored share it counts as accepted"
    )


class TrustTeachersParams(TransformerLMParams):
    """The native student that learns how far to follow each of several teachers."""

    trust: Literal["learned", "equal"] = Field(
        "learned", description="'learned': trust from the exam scores after each teacher's lessons; 'equal': none"
    )
    sharpness: float = Field(
        5.0, ge=0, description="how fast trust falls with a teacher's mean credit below the best's (per log-ppl)"
    )


class LSTMLMParams(TrainingParams):
    """A causal LSTM language model (tied input and output embeddings), trained like the native student."""

    layers: int = Field(1, ge=1)
    dim: int = Field(64, ge=4, description="embedding and hidden size")
    max_len: int = Field(64, ge=2, description="longest sentence + 1 (for sentences it generates)")
    lr: float = Field(3e-3, gt=0)


#: what every native student can do: train in stacks, on threads, and persist across rounds
NATIVE = frozenset({Capability.BATCHED, Capability.CONCURRENT, Capability.PERSISTENT})


@hookimpl
def ilm_students() -> Iterator[PluginSpec]:  # StudentSpec is made at run time: not a type to mypy
    yield StudentSpec(
        name="transformer-lm",
        summary="native torch causal Transformer LM, trained for a fixed number of updates",
        factory="ilm_plugins.students.transformer_lm:TransformerLMStudent",
        params=TransformerLMParams,
        roadmap=("student.speaking.standard-lm", "student.data.use-all"),
        capabilities=NATIVE,
    )
    yield StudentSpec(
        name="lstm-lm",
        summary="native torch causal LSTM LM (trains many students as one model), so populations can mix architectures",
        factory="ilm_plugins.students.transformer_lm:LSTMLMStudent",
        params=LSTMLMParams,
        roadmap=("student.speaking.standard-lm", "student.data.use-all"),
        capabilities=NATIVE,
    )
    yield StudentSpec(
        name="experiment",
        summary="the native student that also generates sentences when asked (for ask-for-feedback)",
        factory="ilm_plugins.students.transformer_lm:ExperimentStudent",
        params=ExperimentParams,
        # temperature sampling alone: it learns nothing from an answer (learn-from-answers does)
        roadmap=("student.speaking.standard-lm", "student.data.use-all"),
        capabilities=NATIVE | {Capability.EXPERIMENT},
    )
    yield StudentSpec(
        name="learn-from-answers",
        summary="generates sentences when asked and learns from the answer: trains on those accepted, "
        "unlikelihood where the rejected ones go wrong",
        factory="ilm_plugins.students.listening:LearnFromAnswersStudent",
        params=LearnFromAnswersParams,
        roadmap=("student.speaking.experiment",),
        capabilities=NATIVE | {Capability.EXPERIMENT, Capability.USES_FEEDBACK},
    )
    yield StudentSpec(
        name="trust-teachers",
        summary="taught by several teachers, keeps of each lesson a share that follows how much that "
        "teacher's lessons improved its own exam",
        factory="ilm_plugins.students.listening:TrustTeachersStudent",
        params=TrustTeachersParams,
        roadmap=("task.student.adapt-to-teachers",),
        capabilities=NATIVE | {Capability.USES_FEEDBACK},
    )
    yield StudentSpec(
        name="know-when-to-stop",
        summary="holds out part of each lesson and stops training when that part stops improving",
        factory="ilm_plugins.students.choosing:KnowWhenToStopStudent",
        params=KnowWhenToStopParams,
        roadmap=("student.speaking.standard-lm", "student.data.know-when-to-stop"),
        capabilities=NATIVE,
    )
    yield StudentSpec(
        name="select-useful",
        summary="offered a lesson, trains only on the sentences it predicts worst (highest loss)",
        factory="ilm_plugins.students.choosing:SelectUsefulStudent",
        params=SelectUsefulParams,
        roadmap=("student.speaking.standard-lm", "student.data.select-useful"),
        capabilities=NATIVE,
    )
