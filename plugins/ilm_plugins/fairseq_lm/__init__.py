"""Student `fairseq-lm`: fairseq's own `transformer_lm`, built and trained in-process.

This module is what the registry imports to list plugins, so it stays light: the params model
and the record only. fairseq (an optional extra, several seconds to import) is imported by
`student.py` and `teacher_lm.py` when a student or a teacher LM is actually built.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ilm_core import Capability, PluginSpec, StudentSpec, hookimpl
from ilm_plugins.students import TransformerLMParams

#: how to get fairseq (the project's optional extra)
INSTALL_HINT = "pip install -e '.[fairseq]'"

#: architecture presets. paper = fairseq's `transformer_lm` as registered (what `--arch
#: transformer_lm` gives); tiny = the native student's CPU defaults (learned positions and tied
#: input/output embeddings, as the native student has), so the two can be compared at one size.
PRESETS: dict[str, dict[str, Any]] = {
    "paper": dict(
        layers=6, dim=512, heads=8, ffn=2048, dropout=0.1, attention_dropout=0.0,
        learned_pos=False, share_embeddings=False, activation="relu",
    ),
    "tiny": dict(
        layers=2, dim=64, heads=4, ffn=256, dropout=0.0, attention_dropout=0.0,
        learned_pos=True, share_embeddings=True, activation="relu",
    ),
}  # fmt: skip


def _native(name: str) -> Any:
    """The native student's default for a recipe field, so both students share one recipe."""
    return TransformerLMParams.model_fields[name].default


class FairseqLMParams(BaseModel):
    """Architecture (a preset, each field overridable; None = from the preset) and recipe.

    The recipe defaults are the native student's, read from its params model, so the two
    students are compared under the same recipe even while that recipe is tuned.
    """

    model_config = ConfigDict(extra="forbid")

    preset: Literal["paper", "tiny"] = Field(
        "tiny", description="paper = fairseq transformer_lm (6x512, 8 heads, FFN 2048, dropout 0.1); tiny = CPU size"
    )
    layers: int | None = Field(None, ge=1)
    dim: int | None = Field(None, ge=8)
    heads: int | None = Field(None, ge=1)
    ffn: int | None = Field(None, ge=1)
    dropout: float | None = Field(None, ge=0, lt=1)
    attention_dropout: float | None = Field(None, ge=0, lt=1)
    learned_pos: bool | None = Field(None, description="learned positions (else fairseq's sinusoidal ones)")
    share_embeddings: bool | None = Field(None, description="tie the output projection to the input embeddings")
    activation: Literal["relu", "gelu"] | None = None
    max_len: int = Field(_native("max_len"), ge=2, description="longest sentence + 1")
    updates: int = Field(_native("updates"), ge=0, description="training updates on the lesson")
    lr: float = Field(_native("lr"), gt=0)
    batch_size: int | None = Field(_native("batch_size"), ge=1, description="sentences per update; None = whole lesson")
    clip_norm: float | None = Field(_native("clip_norm"), gt=0, description="gradient clipping (global norm)")
    weight_decay: float = Field(_native("weight_decay"), ge=0)
    betas: tuple[float, float] = _native("betas")
    warmup: int = Field(_native("warmup"), ge=0)
    schedule: Literal["constant", "inverse_sqrt"] = _native("schedule")

    def architecture(self) -> dict[str, Any]:
        """The preset with every field that was set overriding it."""
        arch = dict(PRESETS[self.preset])
        arch.update({k: getattr(self, k) for k in arch if getattr(self, k) is not None})
        return arch

    def recipe(self) -> dict[str, Any]:
        """Fields of `ilm_plugins.torchlm.train.TrainRecipe`."""
        names = ("updates", "lr", "batch_size", "clip_norm", "weight_decay", "betas", "warmup", "schedule")
        return {k: getattr(self, k) for k in names}

    @model_validator(mode="after")
    def _heads_divide(self) -> FairseqLMParams:
        arch = self.architecture()
        if arch["dim"] % arch["heads"]:
            raise ValueError(f"dim = {arch['dim']} must be divisible by heads = {arch['heads']}")
        return self


@hookimpl
def ilm_students() -> Iterator[PluginSpec]:  # StudentSpec is made at run time: not a type to mypy
    yield StudentSpec(
        name="fairseq-lm",
        summary="fairseq's transformer_lm (the paper's student), built in-process; presets paper and tiny",
        factory="ilm_plugins.fairseq_lm.student:FairseqLMStudent",
        params=FairseqLMParams,
        roadmap=("student.speaking.standard-lm", "student.data.use-all"),
        requires=("fairseq",),
        install_hint=INSTALL_HINT,
        capabilities=frozenset({Capability.PERSISTENT, Capability.BATCHED}),
    )
