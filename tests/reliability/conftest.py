"""Fixtures of the reliability tests (torch runs single-threaded in every test: tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ilm_core.registry import Registry

from ._support import FAULTS, FaultPlugins


@pytest.fixture
def faults() -> Iterator[dict]:
    """The fault switches, reset after each test."""
    saved = dict(FAULTS)
    yield FAULTS
    FAULTS.clear()
    FAULTS.update(saved)


@pytest.fixture
def fault_registry(registry: Registry) -> Registry:
    """The installed plugins plus the fault-injecting ones."""
    registry.register(FaultPlugins(), name="reliability-faults")
    return registry
