"""Moved to `ilm_devkit.testing`; this name forwards there with a DeprecationWarning until plugin
API 4 (CHANGELOG.md)."""

from __future__ import annotations

from typing import Any

from ilm_core.compat import moved


def __getattr__(name: str) -> Any:
    return moved(f"ilm_core.testing.{name}", "ilm_devkit.testing", name)
