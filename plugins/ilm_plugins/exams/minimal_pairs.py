"""Minimal-pair exam (BLiMP's protocol): the share of pairs whose good sentence the student
finds more probable, per phenomenon, as the feedback exam or as an evaluation beside it."""

from __future__ import annotations

from ilm_core import ConfigError, EnvironmentData, MinimalPair
from ilm_plugins.exams import MinimalPairsParams
from ilm_plugins.exams.perplexity import PerplexityExam, draw
from ilm_plugins.exams.scoring import pair_labels

Items = tuple[list[list[int]], list[str] | None]

#: names of the evaluations this exam adds to metrics.jsonl (`<name>_accuracy`)
PAIRS, HELDOUT_PAIRS = "pairs", "heldout-pairs"


def flatten(pairs: list[MinimalPair]) -> Items:
    """(good_0, bad_0, good_1, bad_1, ...) with their labels."""
    return [s for p in pairs for s in (p.good, p.bad)], pair_labels([p.phenomenon for p in pairs])


class MinimalPairsExam(PerplexityExam):
    def __init__(self, params: MinimalPairsParams):
        super().__init__(params)
        self.params: MinimalPairsParams = params
        self.pairs: list[MinimalPair] = []
        self.heldout_pairs: list[MinimalPair] = []
        self._labels: list[str] | None = None  # of the last feedback items drawn

    def attach(self, data: EnvironmentData) -> None:
        if not data.minimal_pairs:
            raise ConfigError(
                "exam 'minimal-pairs' needs minimal pairs, but the environment built none: the domains and "
                "structures environments make them from their grammar; for text, give BLiMP-format JSONL files "
                "(environment.minimal_pairs) or keep environment.make_pairs = true"
            )
        self.pairs, self.heldout_pairs = list(data.minimal_pairs), list(data.heldout_minimal_pairs)

    def _episode_pairs(self, seed: int) -> list[MinimalPair]:
        p = self.params
        size = min(p.pairs_per_exam, len(self.pairs)) if p.pairs_per_exam else len(self.pairs)
        if p.feedback == "bank" or size == len(self.pairs):
            return self.pairs
        if p.feedback == "fixed":
            return self.pairs[:size]
        return draw(self.pairs, size, seed, f"minimal pairs ({len(self.pairs)})")

    def feedback_items(self, exam: list[list[int]], bank: list[list[int]], episode: int, seed: int) -> list[list[int]]:
        if self.params.feedback_on == "sentences":
            return super().feedback_items(exam, bank, episode, seed)
        items, self._labels = flatten(self._episode_pairs(seed))
        return items

    def labels(self, items: list[list[int]]) -> list[str] | None:
        return super().labels(items) if self.params.feedback_on == "sentences" else self._labels

    def evaluations(self, episode: int, seed: int) -> dict[str, Items]:
        out: dict[str, Items] = {}
        if self.params.feedback_on == "sentences":
            out[PAIRS] = flatten(self.pairs)
        if self.heldout_pairs and self.params.heldout:
            out[HELDOUT_PAIRS] = flatten(self.heldout_pairs)
        return out
