"""Round plans and students the config cannot serve: exit 2, one paragraph naming the field and
what is allowed, and no run directory (the plan is checked before one is created)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ilm_core import EnvironmentSpec, Interaction, InteractionSpec, NoParams, Round, StudentSpec, hookimpl
from ilm_core.errors import ConfigError
from ilm_core.loop import Experiment
from ilm_core.registry import Registry
from ilm_core.rundir import RunDir
from ilm_plugins.environments import DomainsParams
from ilm_plugins.environments.languages import DomainsEnvironment
from ilm_plugins.students import TransformerLMParams
from ilm_plugins.students.transformer_lm import TransformerLMStudent

from ._support import SMALL, TINY_FLAGS, one_paragraph_error


class Greedy(Interaction):
    """Plans one round more than the budget allows."""

    def __init__(self, params: Any = None):
        self.params = params

    def plan(self, budget: int, n_students: int) -> list[Round]:
        return [Round(size=budget, exam="mid-term"), Round(size=1, exam="final")]


class Silent(Interaction):
    """Plans no round at all."""

    def __init__(self, params: Any = None):
        self.params = params

    def plan(self, budget: int, n_students: int) -> list[Round]:
        return []


class ProbesLater(Interaction):
    """Asks for no sentences in its first round, 2 per student in its second and 5 in its last."""

    def __init__(self, params: Any = None):
        self.params = params

    def plan(self, budget: int, n_students: int) -> list[Round]:
        return [Round(size=1, exam="mid-term"), Round(size=1, exam="mid-term", probe=2), Round(size=2, probe=5)]


class OneShotStudent(TransformerLMStudent):
    """A student that trains only once (declares no 'persistent' capability)."""


class ProtocolPlugins:
    __name__ = "protocol-faults"

    @hookimpl
    def ilm_interactions(self) -> Any:
        yield InteractionSpec(name="greedy", summary="sends more than the budget", factory=Greedy, params=NoParams)
        yield InteractionSpec(name="silent", summary="plans no round", factory=Silent, params=NoParams)
        yield InteractionSpec(name="probes-later", summary="probes from round 1", factory=ProbesLater, params=NoParams)

    @hookimpl
    def ilm_students(self) -> Any:
        yield StudentSpec(name="one-shot", summary="cannot persist", factory=OneShotStudent, params=TransformerLMParams)

    @hookimpl
    def ilm_environments(self) -> Any:
        yield EnvironmentSpec(  # the domains language without the 'judges' capability
            name="mute", summary="cannot judge sentences", factory=DomainsEnvironment, params=DomainsParams
        )


@pytest.fixture
def protocol_cli(cli, monkeypatch):
    """`ilm` in-process with the installed plugins plus the faulty ones above."""

    def registry() -> Registry:
        reg = Registry()
        reg.load_entry_points()
        reg.register(ProtocolPlugins(), name="protocol-faults")
        return reg

    monkeypatch.setattr("ilm_core.cli.run_cmd.default_registry", registry)
    return cli


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--interaction", "greedy"], ["interaction 'greedy'", "4+1 = 5 sentences", "more than the budget of 4"]),
        (["--interaction", "silent"], ["interaction 'silent'", "zero rounds", "at least one round"]),
        (
            ["--interaction", "send-in-batches", "--set", "interaction.batch=9"],
            ["interaction.batch = 9", "larger than budget = 4", "between 1 and 4"],
        ),
        (
            ["--interaction", "send-in-batches", "--set", "interaction.rounds=0"],
            ["interaction.params.rounds' = 0 is invalid"],
        ),
        (
            ["--student", "one-shot", "--set", "student_lifetime=run"],
            ["student 'one-shot' cannot persist", "student_lifetime = 'run'", "'persistent' capability"],
        ),
        (
            ["--student", "one-shot", "--interaction", "mid-term-exams"],
            ["student 'one-shot' cannot persist", "teaches in 2 rounds"],
        ),
        (
            ["--interaction", "ask-for-feedback"],
            ["asks students to generate sentences", "'experiment' capability", "student = 'experiment'"],
        ),
        (  # the first round that asks for sentences, and what it asks
            ["--interaction", "probes-later"],
            ["asks students to generate sentences (round 1 has probe = 2)", "'experiment' capability"],
        ),
        (  # students told the environment's judgement of their sentences, by an environment that cannot judge
            ["--interaction", "answer-students", "--student", "experiment", "--env", "mute"],
            ["interaction 'answer-students'", "environment 'mute' cannot judge sentences", "'judges' capability"],
        ),
    ],
)
def test_refused_before_a_run_directory_exists(protocol_cli, tmp_path: Path, args: list[str], expected: list[str]):
    out = tmp_path / "run"
    err = one_paragraph_error(*protocol_cli("run", *TINY_FLAGS, *args, "--episodes", "1", "--out", str(out)))
    for text in expected:
        assert text in err, (text, err)
    assert not out.exists(), "a refused config must not create its run directory"


def test_the_api_refuses_before_creating_the_run_directory(registry: Registry, tmp_path: Path) -> None:
    """Experiment.run checks the plan itself, for callers that skip config.resolve."""
    from ilm_core.config import resolve

    registry.register(ProtocolPlugins(), name="protocol-faults")
    cfg = resolve(SMALL, registry).model_copy(update={"student_lifetime": "run"})
    cfg = cfg.model_copy(update={"student": cfg.student.model_copy(update={"name": "one-shot"})})
    with pytest.raises(ConfigError, match="cannot persist"):
        Experiment(cfg, registry, RunDir(tmp_path / "run")).run()
    assert not (tmp_path / "run").exists()
