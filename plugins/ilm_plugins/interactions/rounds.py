"""Interactions that teach in rounds: send in batches, and mid-term exams between rounds."""

from __future__ import annotations

from ilm_core import ConfigError, Feedback, Interaction, Round, RoundResult
from ilm_plugins.interactions import MidTermExamsParams, SendInBatchesParams


def split(budget: int, rounds: int) -> list[int]:
    """`budget` sentences in `rounds` near-equal parts, larger parts first; a ConfigError naming
    `interaction.rounds` when there are more rounds than sentences."""
    if rounds > budget:
        raise ConfigError(
            f"interaction.rounds = {rounds} is more than budget = {budget} sentences, so a round would "
            f"send none; choose 1 to {budget} rounds"
        )
    size, extra = divmod(budget, rounds)
    return [size + (1 if k < extra else 0) for k in range(rounds)]


class _WithItemScores(Interaction):
    """Feedback that carries, besides the average and the component scores, the student's
    perplexity on every item of the exam it took: a teacher between rounds can see which parts
    of its own exam a student still finds hard."""

    def feedback(self, result: RoundResult) -> list[Feedback]:
        plain = super().feedback(result)
        exams = {r.student: r.exams["feedback"] for r in result.reports}
        items = {i: exam.item_perplexities for i, exam in exams.items()}  # None: the exam has no perplexity
        return [f.model_copy(update={"item_perplexities": _copy(items[f.student])}) for f in plain]


def _copy(values: list[float] | None) -> list[float] | None:
    return None if values is None else list(values)


class SendInBatches(_WithItemScores):
    """R rounds of b sentences; the students are examined after each and the teacher learns from
    every round's feedback before it chooses the next batch (with `mid_terms` off: only at the end)."""

    def __init__(self, params: SendInBatchesParams):
        self.params = params

    def plan(self, budget: int, n_students: int) -> list[Round]:
        p = self.params
        if p.batch is not None:
            if p.batch > budget:
                raise ConfigError(
                    f"interaction.batch = {p.batch} is larger than budget = {budget}; "
                    f"choose a batch between 1 and {budget}"
                )
            sizes = [p.batch] * (budget // p.batch)
        else:
            sizes = split(budget, p.rounds)
        last = len(sizes) - 1
        between = (
            Round(size=1, exam="mid-term", reward=True) if p.mid_terms else Round(size=1, exam="none", reward=False)
        )
        return [
            Round(size=s, exam="final", reward=True) if k == last else between.model_copy(update={"size": s})
            for k, s in enumerate(sizes)
        ]


class MidTermExams(_WithItemScores):
    """The budget in `rounds` parts with a mid-term exam after each but the last and the final exam
    at the end; `reward` says which exams the teacher learns from (the others it only sees)."""

    def __init__(self, params: MidTermExamsParams):
        self.params = params

    def plan(self, budget: int, n_students: int) -> list[Round]:
        p = self.params
        if p.rounds == 1 and p.reward == "mid-terms":
            raise ConfigError(
                "interaction.reward = 'mid-terms' with interaction.rounds = 1: one round has no mid-term exam, so "
                "the teacher would never be rewarded; choose rounds of 2 or more, or reward = 'final' or 'all'"
            )
        sizes = split(budget, p.rounds)
        last = len(sizes) - 1
        plan = []
        for k, size in enumerate(sizes):
            final = k == last
            rewarded = p.reward == "all" or (p.reward == "final") == final
            plan.append(Round(size=size, exam="final" if final else "mid-term", reward=rewarded))
        return plan
