"""A plugin that raises or a student that diverges: named, never silent, finished episodes kept,
and the run resumes to exactly the numbers of an uninterrupted run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ilm_core import PluginError, StudentDivergedError
from ilm_core.config import resolve
from ilm_core.loop import Experiment
from ilm_core.registry import Registry
from ilm_core.rundir import RunDir

from ._support import SMALL, assert_prefix_intact, metrics_lines, one_paragraph_error, without_seconds


def run(registry: Registry, raw: dict, path: Path, resume: bool = False, notices: list | None = None) -> dict:
    cfg = resolve(raw, registry)
    return Experiment(cfg, registry, RunDir(path), notify=(notices if notices is not None else []).append).run(
        resume=resume
    )


@pytest.mark.parametrize("stage", ["select", "learn"])
def test_a_raising_teacher_is_named_keeps_episodes_and_resumes_exactly(fault_registry, faults, tmp_path, stage):
    raw = {**SMALL, "teacher": {**SMALL["teacher"], "name": "flaky"}}
    run(fault_registry, raw, tmp_path / "clean")
    reference = without_seconds(tmp_path / "clean")

    faults["teacher_stage"] = stage
    with pytest.raises(PluginError) as info:
        run(fault_registry, raw, tmp_path / "r")
    message = str(info.value)
    assert info.value.plugin == "flaky" and info.value.stage == stage
    assert "teacher plugin 'flaky'" in message and f"{stage}()" in message and "injected failure" in message
    assert "episode 2" in message and "--resume" in message
    before = metrics_lines(tmp_path / "r")
    assert len(before) == 2 and without_seconds(tmp_path / "r") == reference[:2]

    faults["teacher_stage"] = None  # the plugin is fixed
    notices: list[str] = []
    run(fault_registry, raw, tmp_path / "r", resume=True, notices=notices)
    assert_prefix_intact(tmp_path / "r", before)
    assert without_seconds(tmp_path / "r") == reference
    assert any("after episode 2" in n for n in notices)


def test_a_raising_plugin_through_the_cli_is_one_paragraph(fault_registry, faults, cli, monkeypatch, tmp_path):
    monkeypatch.setattr("ilm_core.cli.run_cmd.default_registry", lambda: fault_registry)
    faults["teacher_stage"] = "learn"
    out = tmp_path / "r"
    args = ["run", "--teacher", "flaky", "--episodes", "4", "--students", "2", "--budget", "4", "--quiet"]
    for key in ("student.updates=3", "student.dim=16", "student.ffn=32", "teacher.lm_updates=5", "teacher.lm_dim=16"):
        args += ["--set", key]
    for key in ("pool_size=20", "teacher_corpus_size=10", "exam_bank_size=20", "heldout_size=5"):
        args += ["--set", f"environment.{key}"]
    err = one_paragraph_error(*cli(*args, "--out", str(out)))
    assert "'flaky'" in err and "learn()" in err and "episode 2" in err
    assert len(metrics_lines(out)) == 2
    faults["teacher_stage"] = None
    code, _, err = cli(*args, "--resume", str(out))  # the same flags again are the same config
    assert code == 0, err
    assert [r["episode"] for r in without_seconds(out)] == [0, 1, 2, 3]


# -- divergence -----------------------------------------------------------------------------
def test_native_student_with_a_huge_lr_diverges_deterministically_under_both_policies(registry, tmp_path):
    """lr = 1e30 makes every native student's loss non-finite in episode 0: 'stop' stops, and
    'worst' has no finite student to score them against, so it stops too, saying why."""
    raw = {**SMALL, "student": {"name": "transformer-lm", "params": {**SMALL["student"]["params"], "lr": 1e30}}}
    with pytest.raises(StudentDivergedError, match=r"on_diverged='stop' ends the run.*student\.lr = 1e\+30"):
        run(registry, {**raw, "on_diverged": "stop"}, tmp_path / "stop")
    with pytest.raises(StudentDivergedError, match=r"every student .* diverged.*no finite score"):
        run(registry, {**raw, "on_diverged": "worst"}, tmp_path / "worst")
    assert metrics_lines(tmp_path / "stop") == metrics_lines(tmp_path / "worst") == []


def test_worst_policy_scores_a_diverged_student_as_the_worst_with_a_notice(fault_registry, faults, tmp_path):
    faults["diverge_from_call"] = 1  # student 0 diverges from episode 1 on
    raw = {**SMALL, "student": {**SMALL["student"], "name": "half-nan"}, "on_diverged": "worst"}
    notices: list[str] = []
    run(fault_registry, raw, tmp_path / "r", notices=notices)
    records = [json.loads(line) for line in metrics_lines(tmp_path / "r")]
    assert [r["diverged_students"] for r in records] == [0, 1, 1, 1]
    for r in records[1:]:
        ppl = r["per_student"]["perplexity"]
        assert ppl[0] == max(ppl[1:]) and r["per_student"]["final_loss"][0] is None
    assert sum("diverged; scored as the episode's worst" in n for n in notices) == 3


def test_stop_policy_stops_and_keeps_the_finished_episodes(fault_registry, faults, tmp_path):
    faults["diverge_from_call"] = 2  # student 0 diverges in episode 2
    raw = {**SMALL, "student": {**SMALL["student"], "name": "half-nan"}, "on_diverged": "stop"}
    with pytest.raises(StudentDivergedError, match=r"episode 2: student\(s\) 0 diverged.*saved in"):
        run(fault_registry, raw, tmp_path / "r")
    assert [json.loads(line)["episode"] for line in metrics_lines(tmp_path / "r")] == [0, 1]
