"""The `fairseq-lm` student: one fairseq transformer_lm per lesson, trained one at a time."""

from __future__ import annotations

from collections.abc import Sequence

from ilm_core import Student, TrainedStudents
from ilm_plugins.fairseq_lm import FairseqLMParams
from ilm_plugins.fairseq_lm.lm import FairseqLM
from ilm_plugins.torchlm.train import TrainRecipe


class _Trained(TrainedStudents):
    def __init__(self, lms: list[FairseqLM], losses: list[list[float]]):
        self.lms, self.losses = lms, losses

    @property
    def final_losses(self) -> list[float]:
        return [run[-1] if run else float("nan") for run in self.losses]

    def sentence_nll(self, sentences: Sequence[list[int]]) -> tuple[list[list[float]], list[int]]:
        sentences = [list(s) for s in sentences]
        return [lm.sentence_nll(sentences) for lm in self.lms], [len(s) + 1 for s in sentences]


class FairseqLMStudent(Student):
    """fairseq's own model code under the native student's recipe (no "batched" capability:
    fairseq's modules hold one model's weights, so students are trained in turn)."""

    def __init__(self, params: FairseqLMParams):
        self.params = params
        self.arch = params.architecture()
        self.recipe = TrainRecipe(**params.recipe())

    def train(self, lessons: list[list[list[int]]], seeds: list[int], vocab_size: int, device: str) -> TrainedStudents:
        if len(lessons) != len(seeds):
            raise ValueError(f"need one seed per lesson, got {len(lessons)} lessons and {len(seeds)} seeds")
        lms, losses = [], []
        for lesson, seed in zip(lessons, seeds, strict=True):
            lm = FairseqLM(self.arch, vocab_size, self.params.max_len, int(seed), device=device)
            losses.append(lm.train([list(s) for s in lesson], self.recipe, int(seed)))
            lms.append(lm)
        return _Trained(lms, losses)
