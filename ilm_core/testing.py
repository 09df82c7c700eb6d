"""Moved to `ilm_devkit.testing`; this name forwards there with a DeprecationWarning until plugin
API 4 (CHANGELOG.md)."""

from __future__ import annotations

import importlib
import warnings
from typing import Any


def __getattr__(name: str) -> Any:
    warnings.warn(
        f"ilm_core.testing.{name} moved to ilm_devkit.testing.{name}; import it from there "
        "(the old module goes with plugin API 4, see CHANGELOG.md)",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(importlib.import_module("ilm_devkit.testing"), name)
