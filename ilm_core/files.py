"""Writing files so that a crash never leaves half of one: every file of a run directory and
of the set-up cache is written here. A leaf module: it imports nothing else of the core but
errors and signals."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from ilm_core.errors import RunDirError
from ilm_core.signals import deferred


def write_failed(path: Path, exc: OSError) -> RunDirError:
    """An OSError while writing `path`, as one sentence naming the file."""
    return RunDirError(f"cannot write {path}: {exc.strerror or exc}")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` so a reader sees the old file or the new one, never half.

    A failure (full disk, read-only folder, a folder where the file should be) leaves the old
    file as it was and is a `RunDirError` naming the file.
    """
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with deferred():
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except OSError as exc:
            try:
                tmp.unlink(missing_ok=True)
            except OSError:
                pass
            raise write_failed(path, exc) from None
        fsync_dir(path.parent)


def json_safe(obj: Any) -> Any:
    """`obj` with every NaN or infinite float replaced by None, so the JSON written is valid."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    return obj


def json_text(obj: Any, **kwargs: Any) -> str:
    """Valid JSON (no bare NaN or Infinity): non-finite floats are written as null."""
    return json.dumps(json_safe(obj), allow_nan=False, **kwargs)


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, (json_text(obj, indent=2, sort_keys=False) + "\n").encode())


def fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
