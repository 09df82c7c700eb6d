"""Adam(W) through torch's public functional API (fused kernel), without a `torch.optim` optimizer.

Why: the first `torch.optim.Optimizer` a process builds imports torch's compiler stack, which
takes seconds, more than an episode of 12 students costs, and every `ilm run`, every worker
process and every test subprocess would pay it. `torch.optim.adamw.adamw` / `torch.optim.adam.adam`
(`fused=True`) are the functions `torch.optim.AdamW(fused=True)` / `torch.optim.Adam(fused=True)`
call on each step, so the numbers are theirs.
"""

from __future__ import annotations

from typing import Any, Protocol

import torch
from torch.optim.adam import adam
from torch.optim.adamw import adamw


class FusedAdam:
    """Adam (``decoupled=False``) or AdamW (``decoupled=True``) over a fixed list of tensors.

    ``lr`` may be changed between steps (learning-rate schedules). Gradients that are ``None``
    are skipped, as in `torch.optim`.
    """

    def __init__(
        self,
        params: list[torch.Tensor],
        lr: float,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        decoupled: bool = True,
    ) -> None:
        self.params = list(params)
        self.lr, self.betas, self.eps, self.weight_decay = float(lr), betas, eps, weight_decay
        self.decoupled = decoupled
        self.exp_avg = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in self.params]
        self.exp_avg_sq = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in self.params]
        self.steps = [torch.zeros((), dtype=torch.float32, device=p.device) for p in self.params]

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        live = [i for i, p in enumerate(self.params) if p.grad is not None]
        if not live:
            return
        update = adamw if self.decoupled else adam
        update(  # groups the tensors by device and dtype, counts the step, runs the fused kernel
            [self.params[i] for i in live],
            [self.params[i].grad for i in live],  # type: ignore[misc]
            [self.exp_avg[i] for i in live],
            [self.exp_avg_sq[i] for i in live],
            [],
            [self.steps[i] for i in live],
            fused=True,
            amsgrad=False,
            beta1=self.betas[0],
            beta2=self.betas[1],
            lr=self.lr,
            weight_decay=self.weight_decay,
            eps=self.eps,
            maximize=False,
        )

    def state_dict(self) -> dict[str, Any]:
        return {
            "lr": self.lr,
            "exp_avg": [t.clone() for t in self.exp_avg],
            "exp_avg_sq": [t.clone() for t in self.exp_avg_sq],
            "steps": [float(t) for t in self.steps],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if len(state["exp_avg"]) != len(self.params):
            raise ValueError(f"optimizer state holds {len(state['exp_avg'])} tensors, expected {len(self.params)}")
        self.lr = float(state["lr"])
        with torch.no_grad():
            for mine, saved in zip(self.exp_avg + self.exp_avg_sq, state["exp_avg"] + state["exp_avg_sq"], strict=True):
                mine.copy_(saved)
            for mine, value in zip(self.steps, state["steps"], strict=True):
                mine.fill_(value)


class Optimizer(Protocol):
    """What a teacher's REINFORCE step needs of its optimizer (FusedAdam, or several as one)."""

    def zero_grad(self) -> None: ...
    def step(self) -> None: ...
    def state_dict(self) -> dict[str, Any]: ...
    def load_state_dict(self, state: dict[str, Any]) -> None: ...


class Optimizers:
    """Several optimizers stepped as one, e.g. parts of a model at their own learning rates."""

    def __init__(self, **parts: FusedAdam) -> None:
        self.parts = parts

    def zero_grad(self) -> None:
        for part in self.parts.values():
            part.zero_grad()

    def step(self) -> None:
        for part in self.parts.values():
            part.step()

    def state_dict(self) -> dict[str, Any]:
        return {name: part.state_dict() for name, part in self.parts.items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name, part in self.parts.items():
            part.load_state_dict(state[name])
