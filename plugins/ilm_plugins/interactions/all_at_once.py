"""The paper's interaction: all data at once, a single average exam score back (Section 4)."""

from __future__ import annotations

from typing import Any

from ilm_core import Interaction, Round


class AllAtOnce(Interaction):
    """One round of the whole budget, the final exam, the average score back to the teacher."""

    def __init__(self, params: Any = None):
        self.params = params

    def plan(self, budget: int, n_students: int) -> list[Round]:
        return [Round(size=budget, exam="final", reward=True)]
