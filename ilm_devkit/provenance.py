"""Reading a run's provenance.json back (`ilm inspect`): where the run came from. The core
writes it (`ilm_core/provenance.py`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ilm_core.rundir import PROVENANCE


def read(run_path: Path) -> dict[str, Any] | None:
    """A run's provenance.json, or None for a run written without one (or with it unreadable)."""
    import json

    try:
        document = json.loads((Path(run_path) / PROVENANCE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) else None


def describe(document: dict[str, Any]) -> list[tuple[str, str]]:
    """(what, value) rows for a terminal: where the run came from."""
    git = document.get("git") or {}
    commit = git.get("commit")
    source = f"{commit[:12]}{' (uncommitted changes)' if git.get('dirty') else ''}" if commit else "not a git checkout"
    plan = document.get("threads") or {}
    rows = [
        ("started", str(document.get("time", "-"))),
        ("command", " ".join(document.get("command") or []) or "-"),
        ("ilm", f"{document.get('ilm', '-')}, commit {source}"),
        ("python, torch", f"{document.get('python', '-')}, torch {document.get('torch') or '-'}"),
        ("host", f"{document.get('host', '-')} ({document.get('platform', '-')})"),
        (
            "threads",
            f"{plan.get('threads', '-')} per operation, up to {plan.get('lane_cores', '-')} lanes, "
            f"policy {plan.get('policy', '-')}, {plan.get('cores', '-')} cores",
        ),
    ]
    resumed = document.get("resumed") or []
    if resumed:
        rows.append(("resumed", "; ".join(f"{r.get('time', '-')} on {r.get('host', '-')}" for r in resumed)))
    return rows
