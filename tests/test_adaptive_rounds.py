"""An open protocol: an interaction decides the next rounds from what happened
(`Interaction.next_rounds`), checked like a plan."""

from __future__ import annotations

from typing import ClassVar

import pytest
from conftest import TINY_DOMAINS, tiny_student

from ilm_core import (
    ConfigError,
    Experiment,
    InteractionSpec,
    NoParams,
    Registry,
    Round,
    RoundResult,
    hookimpl,
    resolve,
)
from ilm_plugins.interactions.rounds import MidTermExams, MidTermExamsParams


class UntilMerged(MidTermExams):
    """Plans three rounds (2+1+1 sentences); after the first mid-term it merges what is left into one final round."""

    seen: ClassVar[list[int]] = []

    def __init__(self, params: NoParams) -> None:
        super().__init__(MidTermExamsParams(rounds=3))

    def next_rounds(self, result: RoundResult, planned: list[Round]) -> list[Round]:
        UntilMerged.seen.append(len(planned))
        left = sum(r.size for r in planned)
        return [planned[-1].model_copy(update={"size": left})]


class KeepsPlan(MidTermExams):
    """Plans three rounds (2+1+1 sentences) and, asked after each of the first two, keeps what is planned."""

    seen: ClassVar[list[int]] = []

    def __init__(self, params: NoParams) -> None:
        super().__init__(MidTermExamsParams(rounds=3))

    def next_rounds(self, result: RoundResult, planned: list[Round]) -> list[Round]:
        KeepsPlan.seen.append(len(planned))
        return planned


class TooGreedy(MidTermExams):
    def __init__(self, params: NoParams) -> None:
        super().__init__(MidTermExamsParams(rounds=2))

    def next_rounds(self, result: RoundResult, planned: list[Round]) -> list[Round]:
        return [planned[-1].model_copy(update={"size": 99})]


class GreedyLate(MidTermExams):
    """Plans three rounds (2+1+1 sentences), keeps them after the first and, after the second, asks for a
    last round of 2: within the budget counted from the second round on (1+2), beyond it over the episode."""

    def __init__(self, params: NoParams) -> None:
        super().__init__(MidTermExamsParams(rounds=3))

    def next_rounds(self, result: RoundResult, planned: list[Round]) -> list[Round]:
        if result.round == 0:
            return planned
        return [planned[-1].model_copy(update={"size": 2})]


class Plugin:
    @staticmethod
    @hookimpl
    def ilm_interactions():
        yield InteractionSpec(name="until-merged", summary="merges rounds", factory=UntilMerged, params=NoParams)
        yield InteractionSpec(name="too-greedy", summary="asks for too much", factory=TooGreedy, params=NoParams)
        yield InteractionSpec(name="keeps-plan", summary="keeps its plan", factory=KeepsPlan, params=NoParams)
        yield InteractionSpec(name="greedy-late", summary="asks for too much late", factory=GreedyLate, params=NoParams)


def _experiment(registry: Registry, interaction: str) -> Experiment:
    raw = {
        "environment": TINY_DOMAINS,
        "teacher": {"name": "random"},
        "student": tiny_student(2),
        "interaction": {"name": interaction},
        "n_students": 2,
        "budget": 4,
        "episodes": 2,
    }
    return Experiment(resolve(raw, registry), registry)


def test_an_interaction_decides_the_rounds_left_from_what_happened(registry):
    registry.register(Plugin, name="adaptive")
    UntilMerged.seen = []
    records = list(_experiment(registry, "until-merged").episodes())
    assert UntilMerged.seen == [2, 2]  # asked once per episode, after the first round
    for record in records:
        assert [r["size"] for r in record.rounds] == [2, 2]  # 2 + (1 + 1) merged
        assert record.rounds[-1]["exam"] == "final"


def test_every_round_run_so_far_stays_in_the_episode_when_the_interaction_keeps_its_plan(registry):
    """Asked after round 1 and again after round 2: the rounds already run stay, the kept ones follow."""
    registry.register(Plugin, name="adaptive")
    KeepsPlan.seen = []
    records = list(_experiment(registry, "keeps-plan").episodes())
    assert KeepsPlan.seen == [2, 1, 2, 1]  # two rounds left after the first, one after the second
    for record in records:
        assert [r["size"] for r in record.rounds] == [2, 1, 1]
        assert [r["exam"] for r in record.rounds] == ["mid-term", "mid-term", "final"]


def test_rounds_beyond_the_budget_are_refused_naming_the_interaction(registry):
    registry.register(Plugin, name="adaptive")
    with pytest.raises(ConfigError, match=r"interaction 'too-greedy'.*more than the budget of 4"):
        list(_experiment(registry, "too-greedy").episodes())


def test_a_revision_after_a_later_round_counts_every_round_already_run_against_the_budget(registry):
    """The budget is per episode: a revision made after the second round is checked together with both
    rounds already run (2+1, then 2 more = 5 of 4), so an interaction cannot overspend it late."""
    registry.register(Plugin, name="adaptive")
    with pytest.raises(ConfigError, match=r"interaction 'greedy-late'.*2\+1\+2 = 5 sentences.*budget of 4"):
        list(_experiment(registry, "greedy-late").episodes())
