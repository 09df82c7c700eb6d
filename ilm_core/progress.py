"""Set-up steps: how a slow step of a run's set-up shows its progress, and how long it took.

The core hands every plugin that sets something up a `Steps` object (for a teacher:
`TeacherContext.tools.steps`). A plugin wraps each step that can take more than about a second:

    with context.tools.steps.step("pretraining the teacher's LM", total=300) as advance:
        for update in range(300):
            ...
            advance()          # or advance(k); leave it out when the step has no count

The plugin does not know how the step is shown: `ilm run` draws a progress line and then prints
the step's time; in library use and tests nothing is drawn. Every step's seconds are kept in
`timings` (the summary's set-up breakdown).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class Steps:
    """Times set-up steps; shows nothing. Front ends subclass it and override the three `_on_*` methods."""

    def __init__(self) -> None:
        #: seconds of every finished step, by label (a repeated label adds up)
        self.timings: dict[str, float] = {}

    @contextmanager
    def step(self, label: str, total: int | None = None) -> Iterator[Callable[..., None]]:
        """A block that is one set-up step; yields `advance(n=1)` to report progress through `total`."""
        start = time.perf_counter()
        handle = self._on_start(label, total)

        def advance(n: int = 1) -> None:
            self._on_advance(handle, n)

        try:
            yield advance
        finally:
            seconds = time.perf_counter() - start
            self.timings[label] = round(self.timings.get(label, 0.0) + seconds, 3)
            self._on_end(handle, label, seconds)

    def _on_start(self, label: str, total: int | None) -> object:
        return None

    def _on_advance(self, handle: object, n: int) -> None:
        pass

    def _on_end(self, handle: object, label: str, seconds: float) -> None:
        pass
