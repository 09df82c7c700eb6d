"""Students that live through the run (`student_lifetime = run`) survive kill -9 and `--resume`.

The checkpoint holds the students (weights, optimiser state, samplers) with the teacher, so a
resumed run continues with the students it had and ends with the records of an uninterrupted run.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ilm_core.config import resolve
from ilm_core.loop import Experiment
from ilm_core.registry import Registry
from ilm_core.rundir import RunDir

from ._support import SMALL, TINY_FLAGS, ilm_process, killed_at_random_points, metrics_lines, without_seconds
from .test_kill_resume import finish

EPISODES = 24  # enough that every kill lands before a fast run finishes
LIFETIME = ["--set", "student_lifetime=run", "--interaction", "send-in-batches", "--set", "interaction.rounds=2"]
ARGS = ["--episodes", str(EPISODES), *TINY_FLAGS, "--set", "student.updates=6", "--seed", "5", *LIFETIME]


@pytest.mark.slow
def test_students_of_the_run_killed_at_random_points_then_resumed(tmp_path: Path) -> None:
    reference = ilm_process(*ARGS, "--set", "checkpoint_every=2", "--out", str(tmp_path / "reference"))
    out = tmp_path / "run"
    kills, seen = killed_at_random_points([*ARGS, "--set", "checkpoint_every=2"], out, seed=3)
    finish(reference)
    assert kills >= 3, f"only {kills} kills landed before the run finished"
    assert metrics_lines(out)[: len(seen)] == seen
    assert without_seconds(out) == without_seconds(tmp_path / "reference")
    # the students did live through the run: the same config with new students each episode differs
    fresh = ilm_process(*ARGS, "--set", "student_lifetime=episode", "--out", str(tmp_path / "fresh"))
    finish(fresh)
    assert without_seconds(tmp_path / "fresh")[1:] != without_seconds(out)[1:]


@pytest.mark.slow
@pytest.mark.parametrize("executor", ["batched", "multiprocess"])
def test_resume_restores_the_students_of_the_checkpoint(registry: Registry, tmp_path: Path, executor: str) -> None:
    """Every executor gives back the students a checkpoint holds: a run cut back to its first
    checkpoint and resumed ends with the records of the whole run."""
    raw = {
        **SMALL,
        "episodes": 4,
        "student_lifetime": "run",
        "checkpoint_every": 2,
        "keep_checkpoints": 3,
        "executor": {"name": executor, "params": {"devices": "cpu,cpu"} if executor == "multiprocess" else {}},
    }
    cfg = resolve(raw, registry)
    whole = tmp_path / "whole"
    Experiment(cfg, registry, RunDir(whole)).run()
    expected = without_seconds(whole)
    cut = tmp_path / "cut"
    shutil.copytree(whole, cut)
    (cut / "summary.json").unlink()
    (cut / "checkpoints" / "episode-000004.pt").unlink()
    (cut / "metrics.jsonl").write_text("".join(line + "\n" for line in metrics_lines(whole)[:2]))
    Experiment(cfg, registry, RunDir(cut)).run(resume=True)
    assert without_seconds(cut) == expected
    assert json.loads((cut / "config.json").read_text())["student_lifetime"] == "run"
