"""Derived seeds: every random choice in a run comes from (run seed, purpose, indices)."""

from __future__ import annotations

import hashlib


def derive(seed: int, purpose: str, *indices: int) -> int:
    """A 31-bit seed for `purpose` that depends only on the run seed and the indices.

    Hash-based, so adding a new purpose or a new student never shifts the others.
    """
    text = ":".join([str(seed), purpose, *map(str, indices)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little") & 0x7FFFFFFF
