"""Derived seeds: every random choice in a run comes from (run seed, purpose, indices)."""

from __future__ import annotations

import hashlib
import random
from typing import Any


def derive(seed: int, purpose: str, *indices: int) -> int:
    """A 31-bit seed for `purpose` that depends only on the run seed and the indices.

    Hash-based, so adding a new purpose or a new student never shifts the others.
    """
    text = ":".join([str(seed), purpose, *map(str, indices)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little") & 0x7FFFFFFF


def rng_state() -> dict[str, Any]:
    """Every global random generator a plugin might draw from (its own generators are in its state)."""
    import torch

    state: dict[str, Any] = {"python": random.getstate(), "torch": torch.get_rng_state()}
    try:
        import numpy

        state["numpy"] = numpy.random.get_state()
    except ImportError:
        pass
    if torch.cuda.is_available() and torch.cuda.is_initialized():  # type: ignore[no-untyped-call]  # untyped in torch
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    import torch

    if state.get("python") is not None:
        random.setstate(state["python"])
    if state.get("torch") is not None:
        torch.set_rng_state(state["torch"])
    if state.get("numpy") is not None:
        import numpy

        numpy.random.set_state(state["numpy"])
    cuda = state.get("cuda")
    if cuda is not None and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)
