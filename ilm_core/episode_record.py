"""An episode's bookkeeping: what the loop keeps of it while its rounds run (`EpisodeState`) and the
`EpisodeRecord` it becomes, kept out of the loop so that the protocol reads on its own and the record's
shape (the paper's keys, the exams' means named by what they are, per-student figures) lives in one place."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Any

from ilm_core.interfaces import RoundResult
from ilm_core.lessons import sentences_of
from ilm_core.measures import Measured
from ilm_core.messages import (
    EpisodeRecord,
    EpisodeView,
    Feedback,
    Lesson,
    Round,
    Sentence,
    StudentFeedback,
    StudentReport,
)
from ilm_core.population import PopulationGroup, members


@dataclass
class EpisodeState:
    """What the loop keeps of an episode while its rounds run."""

    episode: int
    n: int
    feedback_items: list[list[int]]
    labels: Any  # the exam's labels of the feedback items (e.g. components), or empty
    evaluations: dict[str, Any]  # the exam's extra evaluations, taken after the final round
    cohort: str | None
    seeds: list[int]
    goals: list[str] | None = None  # each student's hidden goal (environments with goals)
    item_sets: dict[str, list[list[int]]] = field(default_factory=dict)  # per exam: each student's items
    heldout_items: list[list[int]] = field(default_factory=list)  # the held-out exam (all goals' with goals)
    sent: list[list[int]] = field(default_factory=list)  # pool indices each student received
    sent_by_round: list[list[Lesson]] = field(default_factory=list)  # each round's lessons
    written: list[list[list[int]]] = field(default_factory=list)  # generated sentences each received
    used: list[list[int]] = field(default_factory=list)  # pool indices each trained on
    totals: list[dict[str, float]] = field(default_factory=list)  # student stats summed over rounds
    history: list[list[Feedback]] = field(default_factory=list)
    stats: dict[str, float] = field(default_factory=dict)  # the teacher's, latest value of each
    rounds: list[dict[str, Any]] = field(default_factory=list)
    reports: list[StudentReport] = field(default_factory=list)  # of the last round
    result: RoundResult | None = None  # what the interaction saw of the last round (None: no exam, no probe)
    plan: list[Round] = field(default_factory=list)  # this episode's rounds, as the interaction revises them
    feedback: list[Feedback] = field(default_factory=list)  # of the last round
    told: list[StudentFeedback | None] = field(default_factory=list)  # for the students, with their next lesson

    def __post_init__(self) -> None:
        self.sent = [[] for _ in range(self.n)]
        self.written = [[] for _ in range(self.n)]
        self.used = [[] for _ in range(self.n)]
        self.totals = [{} for _ in range(self.n)]

    def so_far(self) -> list[Lesson]:
        """Everything each student has received in the episode."""
        return [
            Lesson(student=i, indices=list(s), sentences=list(w))
            for i, (s, w) in enumerate(zip(self.sent, self.written, strict=True))
        ]

    def add(self, lessons: list[Lesson], reports: list[StudentReport]) -> None:
        """A round's lessons and what the students did with them."""
        self.sent_by_round.append(list(lessons))
        for i, lesson in enumerate(lessons):
            self.sent[i] += lesson.indices
            self.written[i] += lesson.sentences
        for r in reports:
            picked = lessons[r.student].indices
            self.used[r.student] += picked if r.used is None else [picked[p] for p in r.used if 0 <= p < len(picked)]
            for key, value in r.stats.items():
                self.totals[r.student][key] = self.totals[r.student].get(key, 0.0) + value

    def view(self, pool: list[Sentence]) -> EpisodeView:
        """What the measures see of the finished episode."""
        lessons = self.so_far()
        return EpisodeView(
            episode=self.episode,
            lessons=lessons,
            taught=[sentences_of(lesson, pool) for lesson in lessons],
            rounds=self.sent_by_round,
            used=self.used,
            feedback_items=self.feedback_items,
            reports=self.reports,
            feedback=self.feedback,
            goals=self.goals,
        )


def _complete(values: list[float | None], n: int) -> list[float]:
    """`values` when there is one for each of the n students, else none."""
    found = [v for v in values if v is not None]
    return found if len(found) == n else []


def round_entry(k: int, rnd: Round, reports: list[StudentReport], feedback: list[Feedback]) -> dict[str, Any]:
    """What the record keeps of one round of a several-round episode (the measures add theirs): the mean
    of the exam's headline score (named by what it is), of the feedback's, and of the teacher's reward."""
    entry: dict[str, Any] = {"round": k, "size": rnd.size, "exam": rnd.exam, "reward": rnd.reward}
    results = [r.exams["feedback"] for r in reports if "feedback" in r.exams]
    if results:
        head = results[0].headline
        entry[f"{head}_mean"] = statistics.fmean(res.scores[head] for res in results)
    if feedback:
        entry["feedback_mean"] = statistics.fmean(f.scores[f.headline] for f in feedback)
        rewards = [f.reward for f in feedback if f.reward is not None]  # the loop set every one
        entry["teacher_reward_mean"] = statistics.fmean(rewards) if rewards else None
    return entry


def _extras(
    ep: EpisodeState, population: list[PopulationGroup] | None, goal_names: list[str]
) -> dict[str, list[float | None]]:
    """Per-student figures beyond the paper's: what students chose to train on, what they report."""
    extras: dict[str, list[float | None]] = {}
    if any(u != s for u, s in zip(ep.used, ep.sent, strict=True)):
        extras["sentences_used"] = [float(len(u)) for u in ep.used]
    for key in sorted({key for t in ep.totals for key in t}):
        extras[key] = [t.get(key) for t in ep.totals]
    if population:
        extras["population_group"] = [float(k) for k, ids in enumerate(members(population)) for _ in ids]
    if ep.goals is not None:  # the goal's position among the environment's goals, sorted by name
        extras["goal"] = [float(goal_names.index(g)) for g in ep.goals]
    return extras


def exam_scores(
    reports: list[StudentReport], per_student: dict[str, list[float | None]]
) -> tuple[float | None, dict[str, float], dict[str, float]]:
    """Minimal-pair accuracy, extra evaluations and component scores of an episode, as means over
    its students (accuracy for pair exams, else perplexity); adds each per student to `per_student`."""
    first = reports[0].exams
    accuracy = None
    if first["feedback"].accuracy is not None:
        per_student["accuracy"] = [r.exams["feedback"].accuracy for r in reports]
        accuracy = statistics.fmean(r.exams["feedback"].accuracy or 0.0 for r in reports)
    evaluations: dict[str, float] = {}
    components: dict[str, float] = {}
    for name, result in first.items():
        if name not in ("feedback", "heldout"):
            key = "accuracy" if "accuracy" in result.scores else "perplexity" if "perplexity" in result.scores else None
            key = key or result.headline
            values = [r.exams[name].scores[key] for r in reports]
            per_student[f"{name}_{key}"] = list[float | None](values)
            evaluations[f"{name}_{key}"] = statistics.fmean(values)
        for part in result.components or {}:
            components[f"{name}/{part}"] = statistics.fmean(
                (r.exams[name].components or {})[part].score for r in reports
            )
    return accuracy, evaluations, components


def other_scores(reports: list[StudentReport], per_student: dict[str, list[float | None]]) -> dict[str, float]:
    """The feedback and held-out exams' scores beyond perplexity and minimal-pair accuracy (which have
    their own keys), as `<name>_mean`/`<name>_std` (`heldout_<name>_...` for the held-out exam) over the
    students; adds each per student to `per_student`. A held-out exam without perplexity counts here too."""
    out: dict[str, float] = {}
    for exam, prefix in (("feedback", ""), ("heldout", "heldout_")):
        if not all(exam in r.exams for r in reports):
            continue
        # every student has the same score names (check_reports refuses reports that differ)
        names = [n for n in reports[0].exams[exam].scores if n != "perplexity" and (n != "accuracy" or prefix)]
        for name in names:
            values = [r.exams[exam].scores[name] for r in reports]
            per_student[f"{prefix}{name}"] = list[float | None](values)
            out[f"{prefix}{name}_mean"] = statistics.fmean(values)
            out[f"{prefix}{name}_std"] = statistics.pstdev(values)
    return out


def episode_record(
    ep: EpisodeState,
    view: EpisodeView,
    measured: Measured,
    *,
    generated: dict[str, list[float | None]],
    population: list[PopulationGroup] | None,
    goal_names: list[str],
    seconds: float,
) -> EpisodeRecord:
    """The record of a finished episode: the paper's keys (perplexity exams: `reward_mean` is minus the mean
    perplexity, as in the paper's records), the exams' other figures, per-student figures, the measures'
    values and, for an episode of several rounds (or other than the paper's), its round entries."""
    reports = ep.reports
    per_student: dict[str, list[float | None]] = {}
    ppl = _complete([r.exams["feedback"].perplexity for r in reports], len(reports))
    heldout_ppl = _complete([r.exams["heldout"].perplexity for r in reports if "heldout" in r.exams], len(reports))
    if ppl:
        per_student["perplexity"] = list[float | None](ppl)
    per_student["final_loss"] = [r.final_loss if math.isfinite(r.final_loss) else None for r in reports]
    if heldout_ppl:
        per_student["heldout_perplexity"] = list[float | None](heldout_ppl)
    per_student.update(generated)
    stats = dict(ep.stats)
    accuracy, evaluations, components = exam_scores(reports, per_student)
    scores = other_scores(reports, per_student)
    # the reward the teacher optimised (the final round's feedback); the paper's `reward_mean` is another thing
    rewards = [f.reward for f in ep.feedback if f.reward is not None]
    accuracies = per_student.get("accuracy")
    per_student.update(_extras(ep, population, goal_names))
    measured.add_to(per_student)
    record = EpisodeRecord(
        episode=ep.episode,
        reward_mean=statistics.fmean(-p for p in ppl) if ppl else None,
        reward_std=statistics.pstdev([-p for p in ppl]) if ppl else None,
        teacher_reward_mean=statistics.fmean(rewards) if rewards else None,
        teacher_reward_std=statistics.pstdev(rewards) if rewards else None,
        perplexity_mean=statistics.fmean(ppl) if ppl else None,
        perplexity_std=statistics.pstdev(ppl) if ppl else None,
        heldout_perplexity_mean=statistics.fmean(heldout_ppl) if heldout_ppl else None,
        heldout_perplexity_std=statistics.pstdev(heldout_ppl) if heldout_ppl else None,
        entropy=stats.pop("entropy", None),
        tokens_sent=sum(len(s) for t in view.taught for s in t),
        seconds=round(seconds, 4),
        diverged_students=sum(r.diverged for r in reports),
        per_student=per_student,
        teacher=stats,
        accuracy_mean=accuracy,
        accuracy_std=statistics.pstdev(float(a or 0.0) for a in accuracies) if accuracies else None,
        scores=scores,
        evaluations=evaluations,
        components=components,
        measures=measured.episode,
    )
    for entry, values in zip(ep.rounds, measured.rounds, strict=False):  # no round values: none to add
        entry.update(values)
    # the paper's protocol (one round, its exam score as the feedback) keeps its record's shape
    head = reports[0].exams["feedback"].headline
    plain = len(ep.rounds) == 1 and ep.rounds[0].get("feedback_mean") == ep.rounds[0].get(f"{head}_mean")
    return record if plain else record.model_copy(update={"rounds": ep.rounds})
