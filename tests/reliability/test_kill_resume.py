"""`ilm run` killed with SIGKILL, then resumed, ends with the metrics of an uninterrupted run.

Real processes, real kills: after the first checkpoint, and at several seeded random points
of one run. Every kill must leave the metrics lines written before it intact.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ._support import (
    TINY_FLAGS,
    ilm_process,
    killed_at_random_points,
    metrics_lines,
    one_paragraph_error,
    wait_for,
    without_seconds,
)

EPISODES = 24  # enough that every kill lands before a fast run finishes
ARGS = ["--episodes", str(EPISODES), *TINY_FLAGS, "--set", "student.updates=12", "--seed", "11"]


def finish(proc: subprocess.Popen[bytes]) -> None:
    _, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err.decode()


class Reference:
    """The uninterrupted run, started at once in the background (a second core is free while
    the kill tests wait on their own runs) and awaited only when its records are compared."""

    def __init__(self, out: Path):
        self.out = out
        self.proc = ilm_process(*ARGS, "--out", str(out))
        self._records: list[dict] | None = None

    def records(self) -> list[dict]:
        if self._records is None:
            finish(self.proc)
            self._records = without_seconds(self.out)
            assert len(self._records) == EPISODES
        return self._records


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reference]:
    ref = Reference(tmp_path_factory.mktemp("uninterrupted") / "run")
    yield ref
    if ref.proc.poll() is None:
        ref.proc.kill()
        ref.proc.wait()


@pytest.mark.slow
def test_killed_after_the_first_checkpoint_then_resumed(reference, cli, tmp_path):
    out = tmp_path / "run"
    proc = ilm_process(*ARGS, "--out", str(out))
    try:
        # the run holds the lock and has written its config (so --resume reaches the lock)
        assert wait_for((out / "config.json").exists, proc)
        assert f"process {proc.pid}" in _read(out / "run.lock")
        # meanwhile, a second run into the same directory is refused, naming the holder
        err = one_paragraph_error(*cli("run", "--resume", str(out), "--quiet"))
        assert f"in use by process {proc.pid}" in err
        assert wait_for((out / "checkpoints" / "episode-000001.pt").exists, proc)
    finally:
        proc.kill()
    proc.wait()
    assert proc.returncode == -9, "the run finished before it could be killed"
    before = metrics_lines(out)
    assert 1 <= len(before) < EPISODES
    finish(ilm_process("--resume", str(out), "--quiet"))
    assert metrics_lines(out)[: len(before)] == before
    assert without_seconds(out) == reference.records()


@pytest.mark.slow
def test_killed_at_random_points_then_resumed(reference, tmp_path):
    out = tmp_path / "run"
    kills, seen = killed_at_random_points(ARGS, out, seed=7)
    assert kills >= 3, f"only {kills} kills landed before the run finished"
    assert metrics_lines(out)[: len(seen)] == seen
    assert without_seconds(out) == reference.records()


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""
