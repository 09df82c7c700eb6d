"""Fixtures of the reliability tests (torch runs single-threaded in every test: tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ilm_core.registry import Registry

from ._support import FAULTS, FaultObserver, FaultPlugins


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
    registry.register(FaultObserver(), name="fault-observer")
    return registry


@pytest.fixture
def fault_cli(cli, fault_registry, monkeypatch):
    """`ilm ARGS` in-process, with the fault-injecting plugins installed."""
    monkeypatch.setattr("ilm_core.cli.run_cmd.default_registry", lambda: fault_registry)
    return cli
