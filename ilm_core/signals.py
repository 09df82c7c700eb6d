"""SIGINT and SIGTERM during a run: stop between writes, then say where the run stopped.

Inside `interruptible()` both signals are noted, never raised where they land: an exception
thrown from a signal handler can surface inside torch's autograd engine or a finaliser, where
it is swallowed or leaves the process waiting. The interruption is raised as `RunInterrupted`
(an `IlmError`, so the CLI prints one paragraph and the loop adds which episodes are saved and
the `--resume` command) at the next safe point: the end of a `deferred()` block (an episode, a
write to the run directory) or a `check()`. So an interrupted run never leaves half a line or
half a file behind.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ilm_core.errors import IlmError

_HANDLED = (signal.SIGINT, signal.SIGTERM)


class RunInterrupted(IlmError):
    """The run was stopped by SIGINT (Ctrl-C) or SIGTERM; exit code 128 + the signal number."""

    def __init__(self, signum: int):
        self.signum = signum
        self.exit_code = 128 + signum
        super().__init__(f"interrupted by {signal.Signals(signum).name}")


class _State:
    depth = 0  # nesting of deferred() blocks
    pending: int | None = None  # a signal that arrived inside one


def _handler(signum: int, frame: Any) -> None:
    _State.pending = signum


def check() -> None:
    """Raise the interruption a signal asked for, unless inside a `deferred()` block."""
    if not _State.depth and _State.pending is not None:
        signum, _State.pending = _State.pending, None
        raise RunInterrupted(signum)


@contextmanager
def interruptible() -> Iterator[None]:
    """Turn SIGINT and SIGTERM into `RunInterrupted` for the block (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, _handler) for sig in _HANDLED}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _State.pending = None


@contextmanager
def deferred() -> Iterator[None]:
    """A block that a signal does not cut in half: the interruption is raised at its end."""
    _State.depth += 1
    try:
        yield
    finally:
        _State.depth -= 1
    check()
