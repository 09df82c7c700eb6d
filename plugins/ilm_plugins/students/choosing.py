"""Students that decide how they use a lesson: `know-when-to-stop` and `select-useful`.

Both are the native stacked student with one decision added; they persist like it.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from ilm_plugins.students import KnowWhenToStopParams, SelectUsefulParams
from ilm_plugins.students.transformer_lm import StackedStudents, TransformerLMStudent
from ilm_plugins.torchlm.train import lesson_loss, lesson_nll


class StoppingStudents(StackedStudents):
    """Holds out part of each lesson and keeps, per student, the weights at which that part's loss
    was lowest; training ends early once every student has stopped improving."""

    def __init__(self, *args: Any, params: KnowWhenToStopParams, seeds: list[int], **kwargs: Any) -> None:
        super().__init__(*args, seeds=seeds, **kwargs)
        self.params = params
        self.splitters = [torch.Generator().manual_seed(int(s) + 1) for s in seeds]
        self._stats: list[dict[str, float]] = [{} for _ in seeds]
        self._used: list[list[int]] | None = None

    def _split(self, lesson: list[list[int]], g: torch.Generator) -> tuple[list[int], list[int]]:
        """Positions to train on and to hold out (none held out from a one-sentence lesson)."""
        n = len(lesson)
        held = min(n - 1, max(1, round(self.params.holdout * n))) if n > 1 else 0
        order = torch.randperm(n, generator=g).tolist()
        return sorted(order[held:]), sorted(order[:held])

    def train(self, lessons: list[list[list[int]]]) -> None:
        p, model = self.params, self.model
        splits = [self._split(lesson, g) for lesson, g in zip(lessons, self.splitters, strict=True)]
        train = [[lesson[i] for i in keep] for lesson, (keep, _) in zip(lessons, splits, strict=True)]
        held = [[lesson[i] for i in out] for lesson, (_, out) in zip(lessons, splits, strict=True)]
        watched = [bool(h) for h in held]
        params = self.trainer.params
        best = lesson_loss(model, held, self.vocab_size, self.device)
        best_step = [0] * len(lessons)
        stale = [0] * len(lessons)
        active = list(watched)
        snapshot = [t.detach().clone() for t in params]

        def on_update(step: int, losses: torch.Tensor) -> bool:
            if (step + 1) % p.check_every:
                return False
            now = lesson_loss(model, held, self.vocab_size, self.device)
            with torch.no_grad():
                for s in range(len(lessons)):
                    if not active[s]:
                        continue
                    if now[s] < best[s] - p.min_delta:
                        best[s], best_step[s], stale[s] = now[s], step + 1, 0
                        for kept, t in zip(snapshot, params, strict=True):
                            kept[s].copy_(t[s])
                    else:
                        stale[s] += 1
                        active[s] = stale[s] < p.patience
            return any(watched) and not any(active)

        self.losses = self.trainer.train(train, self.vocab_size, self.device, on_update)
        ran = self.losses.shape[0]
        with torch.no_grad():
            for s in range(len(lessons)):
                if watched[s]:
                    for kept, t in zip(snapshot, params, strict=True):
                        t[s].copy_(kept[s])
        self._stats = [
            {"updates_used": float(best_step[s] if watched[s] else ran), "held_out": float(len(held[s]))}
            for s in range(len(lessons))
        ]
        self._used = [keep for keep, _ in splits]

    def stats(self) -> list[dict[str, float]]:
        return self._stats

    def used(self) -> list[list[int]] | None:
        return self._used


class SelectingStudents(StackedStudents):
    """Trains each student only on the share of its lesson it finds most useful: the sentences
    its current model predicts worst (highest loss per token)."""

    def __init__(self, *args: Any, params: SelectUsefulParams, seeds: list[int], **kwargs: Any) -> None:
        super().__init__(*args, seeds=seeds, **kwargs)
        self.params = params
        self._used: list[list[int]] | None = None
        #: the random choice of the ablation (choose = "random"), one stream per student
        self.choosers = [torch.Generator().manual_seed(int(s) + 2) for s in seeds]

    def train(self, lessons: list[list[list[int]]]) -> None:
        nll = lesson_nll(self.model, lessons, self.vocab_size, self.device)
        chosen = []
        for s, lesson in enumerate(lessons):
            k = max(1, math.ceil(self.params.keep * len(lesson)))
            if self.params.choose == "random":
                order = torch.randperm(len(lesson), generator=self.choosers[s]).tolist()
            else:  # its own model's loss on each offered sentence: what the student knows of itself
                order = sorted(range(len(lesson)), key=lambda i: (-float(nll[s, i]), i))
            chosen.append(sorted(order[:k]))
        self._used = chosen
        super().train([[lesson[i] for i in keep] for lesson, keep in zip(lessons, chosen, strict=True)])

    def stats(self) -> list[dict[str, float]]:
        return [{"kept": float(len(u))} for u in self._used or []] or super().stats()

    def used(self) -> list[list[int]] | None:
        return self._used


class _ChoosingStudent(TransformerLMStudent):
    """The native student whose group decides what of each lesson it trains on (`group`)."""

    def group_options(self) -> dict[str, Any]:
        return {"params": self.params}


class KnowWhenToStopStudent(_ChoosingStudent):
    group = StoppingStudents


class SelectUsefulStudent(_ChoosingStudent):
    group = SelectingStudents
