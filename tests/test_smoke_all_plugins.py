"""Every shipped plugin runs end to end with tiny settings (the EGG-style smoke test).

Each case swaps one component of a tiny run for a plugin of that kind; a plugin whose
requirements are not installed (e.g. fairseq-lm without the extra) is skipped with the reason.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from ilm_core import EpisodeRecord, RunOptions, RunSpec, SentencePreferences
from ilm_core.config import resolve
from ilm_core.loop import Experiment
from ilm_core.records import KINDS
from ilm_core.registry import Registry
from ilm_core.rundir import RunDir
from ilm_sweep.runs import run_all

BASE = {
    "episodes": 2, "n_students": 2, "budget": 3,
    "teacher": {"name": "random"},
    "student": {"name": "transformer-lm", "params": {"updates": 2, "dim": 16, "ffn": 32}},
    "environment": {"name": "domains", "params": {"pool_size": 20, "teacher_corpus_size": 10,
                                                   "exam_bank_size": 20, "heldout_size": 5}},
}  # fmt: skip
TINY_PARAMS = {
    ("teacher", "select-bin"): {"lm_updates": 3, "lm_dim": 16},
    ("teacher", "generate-lm"): {"lm_updates": 3, "lm_dim": 16},
    ("teacher", "take-turns"): {"teachers": [{"name": "random"}, {"name": "oracle"}], "turn": 1},
    ("teacher", "by-group"): {"teachers": {"*": {"name": "random"}}},
    ("student", "fairseq-lm"): {"updates": 2},
    ("student", "experiment"): {"updates": 2, "dim": 16, "ffn": 32, "sample_max_tokens": 5},
    ("student", "know-when-to-stop"): {"updates": 4, "dim": 16, "ffn": 32, "check_every": 1, "patience": 1},
    ("student", "select-useful"): {"updates": 2, "dim": 16, "ffn": 32},
    ("student", "learn-from-answers"): {"updates": 2, "dim": 16, "ffn": 32, "sample_max_tokens": 5},
    ("student", "trust-teachers"): {"updates": 2, "dim": 16, "ffn": 32},
    ("interaction", "send-in-batches"): {"rounds": 3},
    ("interaction", "answer-students"): {"rounds": 2, "samples": 2},
    ("interaction", "ask-for-feedback"): {"samples": 2, "judge_updates": 3, "judge_dim": 16},
    ("environment", "structures"): {"pool_size": 20, "teacher_corpus_size": 10, "exam_bank_size": 20,
                                    "heldout_size": 5},
    ("environment", "random"): {"pool_size": 20, "teacher_corpus_size": 10, "exam_bank_size": 20,
                                "heldout_size": 5},
}  # fmt: skip


#: plugins whose tiny run still starts worker processes or a Ray cluster (seconds): in the full suite only
SLOW = {("executor", "multiprocess"), ("executor", "ray"), ("backend", "ray")}


def _shipped() -> list[Any]:
    reg = Registry()
    reg.load_entry_points()
    return [
        pytest.param(kind, name, marks=[pytest.mark.slow] if (kind, name) in SLOW else [])
        for kind in KINDS
        for name in reg.specs(kind)
    ]


@pytest.mark.parametrize(("kind", "name"), _shipped())
def test_every_plugin_runs_a_tiny_experiment(registry, tmp_path, kind, name, request):
    spec = registry.get(kind, name)
    if spec.missing_requirements():
        pytest.skip(f"{kind} '{name}' needs {spec.missing_requirements()} ({spec.install_hint})")
    if "ray" in spec.requires:
        request.getfixturevalue("ray_local")  # the session's Ray, not one of its own
    if kind == "backend":  # a sweep backend runs whole runs: one tiny run through it
        result = next(iter(run_all([RunSpec(dict(BASE), tmp_path / "run", "tiny")], RunOptions(), name)))
        assert result.summary["episodes"] == 2
        return
    raw = dict(BASE)
    if kind == "tracker":  # trackers watch a run beside its components
        raw["trackers"] = {name: TINY_PARAMS.get((kind, name), {})}
    elif kind == "measure":  # a run takes any number of measures: this one alone
        raw["measures"] = [{"name": name, "params": TINY_PARAMS.get((kind, name), {})}]
    else:
        raw[kind] = {"name": name, "params": TINY_PARAMS.get((kind, name), {})}
    if name == "per-item":  # the example's interaction is meant for its own teacher
        raw["teacher"] = {"name": "per-item-bandit"}
    if name in ("ask-for-feedback", "answer-students"):  # students must generate the sentences to be judged
        raw["student"] = {"name": "experiment", "params": TINY_PARAMS[("student", "experiment")]}
    if name in ("learn-from-answers", "trust-teachers"):  # students that listen need an interaction that answers
        samples = 2 if name == "learn-from-answers" else 0  # trust-teachers hears its scores, generates nothing
        raw["interaction"] = {"name": "answer-students", "params": {"rounds": 2, "samples": samples}}
    experiment = tiny_run(registry, raw, tmp_path / "run")
    if kind == "teacher":  # `ilm inspect` needs one finite value per pool sentence, or None
        prefs = experiment.teacher.preferences()
        if prefs is not None:
            assert isinstance(prefs, SentencePreferences)
            assert len(prefs.values) == len(experiment.data.pool)
            assert all(math.isfinite(v) for v in prefs.values)
    if kind == "measure":  # the measure wrote something into every record
        records = RunDir(tmp_path / "run").read_metrics()
        fields = set(EpisodeRecord.model_fields) | {"per_student"}
        assert all(
            set(r) - fields or set(r["per_student"]) - {"perplexity", "final_loss", "heldout_perplexity"}
            for r in records
        )


def tiny_run(registry, raw, out):
    """Run a tiny experiment; it must finish with every watcher (tracker, hook plugin) still on."""
    cfg = resolve(raw, registry)
    experiment = Experiment(cfg, registry, RunDir(out))
    summary = experiment.run()
    assert summary["episodes"] == 2
    assert summary["switched_off"] == {}, summary["switched_off"]
    assert summary["perplexity_last"] is not None and summary["perplexity_last"] > 1
    return experiment


def test_the_smoke_test_fails_with_a_tracker_that_raises(registry, tmp_path):
    from ilm_core import Tracker, TrackerSpec, hookimpl

    class Raising(Tracker):
        def ilm_episode_end(self, run, record):
            raise RuntimeError("lost connection")

    class Plugin:
        @staticmethod
        @hookimpl
        def ilm_trackers():
            yield TrackerSpec(name="raising", summary="raises after each episode", factory=lambda params: Raising())

    registry.register(Plugin, name="raising-tracker")
    with pytest.raises(AssertionError, match="lost connection"):
        tiny_run(registry, dict(BASE, trackers={"raising": {}}), tmp_path / "run")
