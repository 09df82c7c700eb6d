"""What the REINFORCE teachers (`select-bin`, `generate-lm`) share: each lesson's advantage, one
policy update, and the shape of their checkpoint (the trained torch module, its optimiser, the
teacher's sampling generator and the count of updates)."""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from ilm_plugins.torchlm.optim import Optimizer


def advantages(reward: torch.Tensor, baseline: str) -> torch.Tensor:
    """Each lesson's reward against the episode's: as it is ("none"), minus the mean ("mean"), or
    standardised ("standardize"); a single lesson keeps its reward."""
    if baseline not in ("mean", "standardize") or len(reward) <= 1:
        return reward
    advantage = reward - reward.mean()
    return advantage / (reward.std() + 1e-8) if baseline == "standardize" else advantage


class ReinforceState:
    """`update_policy`, `state_dict` and `load_state_dict` of a teacher that trains `self.<MODEL>`
    with `self.optimizer`, samples with `self.generator` and counts `self.updates` (the module is
    saved under MODEL)."""

    #: the attribute that holds the trained module, and its key in the state
    MODEL: ClassVar[str]
    optimizer: Optimizer
    generator: torch.Generator
    updates: int

    def update_policy(self, loss: torch.Tensor) -> None:
        """One policy update on `loss`, counted in `updates` (what checkpoints and decays count)."""
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        self.updates += 1

    def state_dict(self) -> dict[str, Any]:
        return {
            self.MODEL: getattr(self, self.MODEL).state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "generator": self.generator.get_state(),
            "updates": self.updates,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        getattr(self, self.MODEL).load_state_dict(state[self.MODEL])
        self.optimizer.load_state_dict(state["optimizer"])
        self.generator.set_state(state["generator"])
        self.updates = int(state.get("updates", 0))  # checkpoints written before updates were counted lack it
