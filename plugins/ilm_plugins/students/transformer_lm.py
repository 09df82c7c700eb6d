"""The native student: N causal Transformer LMs trained as one stacked model, kept across rounds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import torch

from ilm_core import Student, StudentGroup
from ilm_plugins.students import ExperimentParams, LSTMLMParams, TransformerLMParams
from ilm_plugins.torchlm.generate import sample_sentences
from ilm_plugins.torchlm.lstm import LSTMSize, StackedLSTMLM
from ilm_plugins.torchlm.model import LMSize, StackedTransformerLM
from ilm_plugins.torchlm.train import Trainer, TrainRecipe, sentence_nll


class StackedStudents(StudentGroup):
    """A stack of students with its trainer: each `train` call continues from the last one."""

    def __init__(
        self,
        model: StackedTransformerLM,
        recipe: TrainRecipe,
        *,
        seeds: list[int],
        vocab_size: int,
        device: str,
        temperature: float = 1.0,
        max_tokens: int | None = None,
    ):
        self.model, self.vocab_size, self.device = model, vocab_size, device
        self.trainer = Trainer(model, recipe, seeds)
        self.losses = torch.zeros(0, model.n_students)
        self.temperature = temperature
        self.max_tokens = max_tokens if max_tokens is not None else model.size.max_len - 1

    @property
    def final_losses(self) -> list[float]:
        if self.losses.shape[0] == 0:
            return [float("nan")] * self.model.n_students
        return self.losses[-1].tolist()

    def train(self, lessons: list[list[list[int]]]) -> None:
        self.losses = self.trainer.train(lessons, self.vocab_size, self.device)

    def sentence_nll(self, sentences: Sequence[list[int]]) -> tuple[list[list[float]], list[int]]:
        nll, ntokens = sentence_nll(self.model, list(sentences), self.vocab_size, self.device)
        return nll.tolist(), ntokens.tolist()

    def generate(self, count: int, seeds: list[int]) -> list[list[list[int]]]:
        return sample_sentences(self.model, count, seeds, self.vocab_size, self.max_tokens, self.temperature)

    def state_dict(self) -> dict[str, Any]:
        return {
            "model": {k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()},
            "trainer": self.trainer.state_dict(),
            "dropout": {device: g.get_state() for device, g in getattr(self.model, "_generators", {}).items()},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.trainer.load_state_dict(state["trainer"])
        generators: Any = getattr(self.model, "_generators", None)  # a stack that draws its own dropout masks
        for device, saved in state.get("dropout", {}).items() if generators is not None else ():
            generators[device] = torch.Generator(device=device).set_state(saved)


class TransformerLMStudent(Student):
    def __init__(self, params: TransformerLMParams):
        self.params = params
        fields = params.model_dump()
        self.size = LMSize(**{k: v for k, v in fields.items() if k in LMSize.model_fields})
        self.recipe = TrainRecipe(**{k: v for k, v in fields.items() if k in TrainRecipe.model_fields})

    def model(self, seeds: list[int], vocab_size: int, device: str) -> StackedTransformerLM:
        """Untrained students, student i initialised from seeds[i] alone."""
        return StackedTransformerLM(vocab_size + 2, self.size, seeds=list(seeds)).to(device)

    #: the group `create` makes: a subclass of StackedStudents, given the model, the recipe and `group_options()`
    group: ClassVar[type[StackedStudents]] = StackedStudents

    def group_options(self) -> dict[str, Any]:
        """What this student's group takes besides the model, the recipe, seeds, vocabulary and device."""
        return {}

    def create(self, seeds: list[int], vocab_size: int, device: str) -> StackedStudents:
        return self.group(
            self.model(seeds, vocab_size, device),
            self.recipe,
            seeds=list(seeds),
            vocab_size=vocab_size,
            device=device,
            **self.group_options(),
        )


class ExperimentStudent(TransformerLMStudent):
    """The native student that also speaks: it samples sentences from its LM when asked."""

    params: ExperimentParams

    def group_options(self) -> dict[str, Any]:
        return {"temperature": self.params.temperature, "max_tokens": self.params.sample_max_tokens}


class LSTMLMStudent(TransformerLMStudent):
    """N causal LSTM LMs as one stacked model: the same trainer, scorer, sampler and persistence."""

    def __init__(self, params: LSTMLMParams):
        self.params = params  # type: ignore[assignment]
        fields = params.model_dump()
        self.lstm_size = LSTMSize(layers=params.layers, dim=params.dim, max_len=params.max_len)
        self.recipe = TrainRecipe(**{k: v for k, v in fields.items() if k in TrainRecipe.model_fields})

    def model(self, seeds: list[int], vocab_size: int, device: str) -> StackedLSTMLM:  # type: ignore[override]
        return StackedLSTMLM(vocab_size + 2, self.lstm_size, seeds=list(seeds)).to(device)
