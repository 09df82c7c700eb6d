"""The `fairseq-lm` student: one fairseq transformer_lm per student, alone or several as one (batched)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ilm_core import Student, StudentGroup
from ilm_plugins.fairseq_lm import FairseqLMParams
from ilm_plugins.fairseq_lm.lm import FairseqLM
from ilm_plugins.torchlm.train import TrainRecipe


class _Students(StudentGroup):
    """One fairseq LM per student; each `train` call continues every student's training."""

    def __init__(self, lms: list[FairseqLM], seeds: list[int], recipe: TrainRecipe):
        self.lms, self.seeds, self.recipe = lms, seeds, recipe
        self.losses: list[list[float]] = [[] for _ in lms]

    @property
    def final_losses(self) -> list[float]:
        return [run[-1] if run else float("nan") for run in self.losses]

    def train(self, lessons: list[list[list[int]]]) -> None:
        if len(lessons) != len(self.lms):
            raise ValueError(f"need one lesson per student, got {len(lessons)} lessons for {len(self.lms)} students")
        self.losses = [
            lm.train([list(s) for s in lesson], self.recipe, seed)
            for lm, lesson, seed in zip(self.lms, lessons, self.seeds, strict=True)
        ]

    def sentence_nll(self, sentences: Sequence[list[int]]) -> tuple[list[list[float]], list[int]]:
        sentences = [list(s) for s in sentences]
        return [lm.sentence_nll(sentences) for lm in self.lms], [len(s) + 1 for s in sentences]

    def state_dict(self) -> dict[str, Any]:
        return {"students": [lm.state_dict() for lm in self.lms]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for lm, saved, seed in zip(self.lms, state["students"], self.seeds, strict=True):
            lm.load_state_dict(saved, self.recipe, seed)


class FairseqLMStudent(Student):
    """fairseq's own model code under the native student's recipe.

    A group of one student trains fairseq's module as it is; a larger group (the batched
    executor) trains its students as one, fairseq's module under `torch.func.vmap`
    (`ilm_plugins.fairseq_lm.batched`), when the model has no dropout. With dropout (the paper
    preset) the students of a group train in turn, each with the dropout draws of its own seed,
    so that a student's numbers never depend on which students share its group.
    """

    def __init__(self, params: FairseqLMParams):
        self.params = params
        self.arch = params.architecture()
        self.recipe = TrainRecipe(**params.recipe())

    def create(self, seeds: list[int], vocab_size: int, device: str) -> StudentGroup:
        lms = [FairseqLM(self.arch, vocab_size, self.params.max_len, int(seed), device=device) for seed in seeds]
        if len(lms) > 1 and not (self.arch["dropout"] or self.arch["attention_dropout"]):
            from ilm_plugins.fairseq_lm.batched import VmappedStudents

            return VmappedStudents(lms, [int(s) for s in seeds], self.recipe)
        return _Students(lms, [int(s) for s in seeds], self.recipe)
