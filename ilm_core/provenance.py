"""Where a run came from: versions, source commit, command line, host and threads.

`ilm run` writes `provenance.json` into the run directory when the run starts, and adds one
entry under `resumed` each time it is continued, so a result can be traced back to the code and
the machine that made it (`ilm inspect` shows it: `ilm_devkit.provenance`). Nothing here touches
the network.
"""

from __future__ import annotations

import platform
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ilm_core.files import atomic_write_json
from ilm_core.rundir import PROVENANCE


def _version(distribution: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def source_commit(folder: Path | None = None) -> dict[str, Any] | None:
    """The git commit of ilm's source (a cloned checkout) and whether it had uncommitted changes;
    None for an installed wheel or where git is missing."""
    folder = folder or Path(__file__).resolve().parent.parent

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=5, check=False
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if not commit:
        return None
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if status is not None else None, "folder": str(folder)}


def collect(argv: list[str] | None = None) -> dict[str, Any]:
    """This process's provenance: one entry of provenance.json."""
    from ilm_core import __version__, process

    entry: dict[str, Any] = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": list(sys.argv if argv is None else argv),
        "cwd": str(Path.cwd()),
        "ilm": __version__,
        "git": source_commit(),
        "python": platform.python_version(),
        "torch": _version("torch"),
        "numpy": _version("numpy"),
        "host": socket.gethostname(),
        "platform": platform.platform(),
    }
    plan = process.plan()  # the thread plan (ilm_threads), if a plugin makes one
    if plan is not None:
        entry["threads"] = plan
    return entry


def record(run_path: Path, resume: bool) -> None:
    """Write provenance.json for a new run, or add this invocation to a resumed run's `resumed` list."""
    import json

    path = Path(run_path) / PROVENANCE
    entry = collect()
    document: dict[str, Any] | None = None
    if resume and path.is_file():
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            document = None
    if isinstance(document, dict):
        document.setdefault("resumed", []).append(entry)
    else:
        document = {**entry, "resumed": []}
    atomic_write_json(path, document)
