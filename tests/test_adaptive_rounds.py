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


class KeepsFourRounds(KeepsPlan):
    """Plans four rounds of one sentence and keeps what is planned each time it is asked."""

    def __init__(self, params: NoParams) -> None:
        MidTermExams.__init__(self, MidTermExamsParams(rounds=4))


class GreedyEarly(MidTermExams):
    """Plans three rounds (2+1+1 sentences) and, after the first, asks for one last round of 3: within the
    budget counted without the round already run, beyond it over the episode (2+3)."""

    def __init__(self, params: NoParams) -> None:
        super().__init__(MidTermExamsParams(rounds=3))

    def next_rounds(self, result: RoundResult, planned: list[Round]) -> list[Round]:
        return [planned[-1].model_copy(update={"size": 3})]


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
        yield InteractionSpec(name="keeps-four", summary="keeps four rounds", factory=KeepsFourRounds, params=NoParams)
        yield InteractionSpec(
            name="greedy-early", summary="asks for too much early", factory=GreedyEarly, params=NoParams
        )


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


def test_the_interaction_is_asked_after_every_round_but_the_last(registry):
    """Four rounds: asked after the first three (three, two, then one round left), never after the final
    round, whose exam ends the episode."""
    registry.register(Plugin, name="adaptive")
    KeepsPlan.seen = []
    records = list(_experiment(registry, "keeps-four").episodes())
    assert KeepsPlan.seen == [3, 2, 1, 3, 2, 1]
    assert [[r["size"] for r in record.rounds] for record in records] == [[1, 1, 1, 1]] * 2


def test_a_revision_after_the_first_round_counts_that_round_against_the_budget(registry):
    registry.register(Plugin, name="adaptive")
    with pytest.raises(ConfigError, match=r"interaction 'greedy-early'.*2\+3 = 5 sentences.*budget of 4"):
        list(_experiment(registry, "greedy-early").episodes())


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
