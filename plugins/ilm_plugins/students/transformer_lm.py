"""The native student: N causal Transformer LMs trained as one stacked model."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ilm_core import Student, TrainedStudents
from ilm_plugins.students import TransformerLMParams
from ilm_plugins.torchlm.model import LMSize, StackedTransformerLM
from ilm_plugins.torchlm.train import TrainRecipe, sentence_nll, train_students


class _Trained(TrainedStudents):
    def __init__(self, model: StackedTransformerLM, losses: torch.Tensor, vocab_size: int, device: str):
        self.model, self.losses, self.vocab_size, self.device = model, losses, vocab_size, device

    @property
    def final_losses(self) -> list[float]:
        if self.losses.shape[0] == 0:
            return [float("nan")] * self.model.n_students
        return self.losses[-1].tolist()

    def sentence_nll(self, sentences: Sequence[list[int]]) -> tuple[list[list[float]], list[int]]:
        nll, ntokens = sentence_nll(self.model, list(sentences), self.vocab_size, self.device)
        return nll.tolist(), ntokens.tolist()


class TransformerLMStudent(Student):
    def __init__(self, params: TransformerLMParams):
        self.params = params
        fields = params.model_dump()
        self.size = LMSize(**{k: v for k, v in fields.items() if k in LMSize.model_fields})
        self.recipe = TrainRecipe(**{k: v for k, v in fields.items() if k in TrainRecipe.model_fields})

    def train(self, lessons: list[list[list[int]]], seeds: list[int], vocab_size: int, device: str) -> TrainedStudents:
        model = StackedTransformerLM(vocab_size + 2, self.size, seeds=list(seeds)).to(device)
        losses = train_students(model, lessons, self.recipe, list(seeds), vocab_size, device)
        return _Trained(model, losses, vocab_size, device)
