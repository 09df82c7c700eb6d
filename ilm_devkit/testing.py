"""Helpers for testing a plugin: build the contexts and messages the core hands a component, and
run a plugin for one tiny episode.

`ilm_devkit.testing` is public, like `ilm_core` itself: a plugin's tests import from these two
only. Every helper has small defaults, so a test names just what it checks:

    from ilm_devkit.testing import plugin_registry, round_context, teacher_context

    teacher = plugin_registry(my_pkg).build("teacher", "first-k", {"offset": 2})
    set_up(teacher, teacher_context(pool_size=10, budget=3))
    lessons = teacher.select(round_context(size=3))

`run_tiny(my_pkg, out=tmp_path, teacher="first-k")` runs a whole (tiny) episode through the
real loop, with the installed reference plugins for every component it does not name.
"""

from __future__ import annotations

import copy
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ilm_core.interfaces import MeasureContext, RoundContext, RoundResult, TeacherContext
from ilm_core.messages import (
    EnvironmentData,
    EpisodeView,
    ExamResult,
    Feedback,
    Lesson,
    Round,
    Sentence,
    StudentReport,
)
from ilm_core.registry import Registry

__all__ = [
    "TINY_CONFIG",
    "TinyRun",
    "environment_data",
    "episode_view",
    "exam_result",
    "feedback",
    "measure_context",
    "plugin_registry",
    "round_context",
    "round_result",
    "run_tiny",
    "student_report",
    "teacher_context",
]


def plugin_registry(*plugins: Any, installed: bool = False) -> Registry:
    """A fresh registry holding `plugins` (modules or classes with hooks), registered in-process as
    their entry points would be; `installed=True` loads every installed plugin first."""
    registry = Registry()
    if installed:
        registry.load_entry_points()
    for plugin in plugins:
        registry.register(plugin, name=getattr(plugin, "__name__", type(plugin).__name__))
    return registry


def environment_data(pool_size: int = 20, vocabulary_size: int = 8, **fields: Any) -> EnvironmentData:
    """A small, valid `EnvironmentData`: two domains over `vocabulary_size` tokens (the exam's is the
    lower half, "V1"), a pool of `pool_size` sentences, half of them from the exam's domain, and
    disjoint exam, exam bank and held-out exam. `fields` replace any field."""
    half = max(1, vocabulary_size // 2)
    counter = iter(range(10**9))

    def sentence(low: bool) -> Sentence:
        """A sentence never made before: the next number, written in the domain's tokens."""
        base, span = (0, half) if low else (half, max(1, vocabulary_size - half))
        n = next(counter)
        digits: list[int] = []
        while n or len(digits) < 2:
            n, digit = divmod(n, span) if span > 1 else (n - 1 if n else 0, 0)
            digits.append(base + digit)
        return digits

    pool = [sentence(i % 2 == 0) for i in range(pool_size)]
    labels = [i % 2 == 0 for i in range(pool_size)]
    corpus = [sentence(i % 3 == 0) for i in range(10)]
    extra = [sentence(True) for _ in range(9)]
    data: dict[str, Any] = {
        "vocabulary": [f"w{i}" for i in range(vocabulary_size)],
        "exam_domain": "V1",
        "teacher_corpus": corpus,
        "pool": pool,
        "pool_in_exam_domain": labels,
        "exam": extra[:3],
        "exam_bank": extra[3:6],
        "heldout_exam": extra[6:9],
    }
    data.update(fields)
    return EnvironmentData(**data)


def teacher_context(
    data: EnvironmentData | None = None,
    *,
    budget: int = 3,
    n_students: int = 2,
    seed: int = 0,
    episodes: int | None = None,
    pool_size: int = 20,
) -> TeacherContext:
    """What `Teacher.setup` (and `Interaction.setup`) gets: built from `data` (default
    `environment_data(pool_size)`), exams hidden as in a run."""
    data = data if data is not None else environment_data(pool_size)
    return TeacherContext.of(data, budget=budget, n_students=n_students, seed=seed, episodes=episodes)


def round_context(
    *,
    size: int = 3,
    n_students: int = 2,
    episode: int = 0,
    round: int = 0,
    rounds: int = 1,
    sent: list[list[int]] | None = None,
    feedback: list[list[Feedback]] | None = None,
    repeats: bool = False,
    feedback_withheld: bool = False,
) -> RoundContext:
    """What `Teacher.select` gets for one round. Defaults: the only round of an episode, nothing sent
    yet. `sent[i]` are the pool indices student i received in earlier rounds; `feedback` one list of
    `Feedback` per earlier round that had any, oldest first; `feedback_withheld` as in a run with
    `teacher_feedback = "withheld"`."""
    return RoundContext(
        episode=episode,
        round=round,
        rounds=rounds,
        size=size,
        n_students=n_students,
        sent=sent if sent is not None else [[] for _ in range(n_students)],
        feedback=feedback or [],
        repeats=repeats,
        feedback_withheld=feedback_withheld,
    )


def exam_result(
    perplexity: float = 10.0, item_perplexities: Sequence[float] | None = None, **fields: Any
) -> ExamResult:
    """One student's exam score: `perplexity` over the exam and per item (default: one item)."""
    items = list(item_perplexities) if item_perplexities is not None else [perplexity]
    values: dict[str, Any] = {
        "perplexity": perplexity,
        "item_perplexities": items,
        "nll": 1.0,
        "tokens": 2 * len(items),
    }
    values.update(fields)
    return ExamResult(**values)


def student_report(
    student: int, perplexity: float = 10.0, item_perplexities: Sequence[float] | None = None, **fields: Any
) -> StudentReport:
    """What the executor reports of one trained student: its feedback-exam score."""
    values: dict[str, Any] = {
        "student": student,
        "seed": student,
        "final_loss": 1.0,
        "exams": {"feedback": exam_result(perplexity, item_perplexities)},
    }
    values.update(fields)
    return StudentReport(**values)


def feedback(lesson: Lesson, perplexity: float = 10.0, **fields: Any) -> Feedback:
    """What a teacher gets back for one student's lesson (lower perplexity is better)."""
    return Feedback(student=lesson.student, lesson=lesson, perplexity=perplexity, **fields)


def round_result(
    lessons: list[Lesson],
    perplexities: Sequence[float] | None = None,
    *,
    plan: Round | None = None,
    sent: list[Lesson] | None = None,
    reports: list[StudentReport] | None = None,
    item_perplexities: Sequence[float] | None = None,
    episode: int = 0,
    round: int = 0,
) -> RoundResult:
    """What `Interaction.feedback` gets for one round: `lessons[i]` all student i received in the
    episode so far (`sent`, what it got in this round, defaults to the same), and one report per
    student with its exam perplexity (`perplexities`, default 10 each)."""
    if reports is None:
        scores = list(perplexities) if perplexities is not None else [10.0] * len(lessons)
        reports = [student_report(i, p, item_perplexities) for i, p in enumerate(scores)]
    size = max((len(lesson.indices) + len(lesson.sentences or []) for lesson in lessons), default=1)
    return RoundResult(
        episode=episode,
        round=round,
        plan=plan or Round(size=max(1, size)),
        lessons=lessons,
        sent=sent if sent is not None else lessons,
        reports=reports,
    )


def measure_context(
    data: EnvironmentData | None = None,
    *,
    n_students: int = 2,
    budget: int = 3,
    episodes: int = 1,
    environment: str = "test-environment",
    label: Callable[[Sentence], bool | None] | None = None,
    notify: Callable[[str], None] | None = None,
) -> MeasureContext:
    """What `Measure.setup` gets: the whole environment data (default `environment_data()`), its
    labeller (default: cannot tell, None) and the run's shape."""
    return MeasureContext(
        data=data if data is not None else environment_data(),
        environment=environment,
        label=label or (lambda sentence: None),
        n_students=n_students,
        budget=budget,
        episodes=episodes,
        notify=notify or (lambda message: None),
    )


def episode_view(
    lessons: list[Lesson],
    pool: list[Sentence] | None = None,
    *,
    perplexities: Sequence[float] | None = None,
    feedback_items: list[Sentence] | None = None,
    reports: list[StudentReport] | None = None,
    episode: int = 0,
) -> EpisodeView:
    """What `Measure.measure` gets for one finished episode of one round: `lessons[i]` all student i
    received, looked up in `pool` (default `environment_data().pool`), each student scored with
    `perplexities` (default 10 each)."""
    pool = pool if pool is not None else environment_data().pool
    taught = [[pool[i] for i in lesson.indices] + list(lesson.sentences or []) for lesson in lessons]
    scores = list(perplexities) if perplexities is not None else [10.0] * len(lessons)
    return EpisodeView(
        episode=episode,
        lessons=lessons,
        taught=taught,
        rounds=[lessons],
        used=[list(lesson.indices) for lesson in lessons],
        feedback_items=feedback_items if feedback_items is not None else environment_data().exam,
        reports=reports if reports is not None else [student_report(i, p) for i, p in enumerate(scores)],
        feedback=[feedback(lesson, p) for lesson, p in zip(lessons, scores, strict=True)],
    )


#: the raw config of a tiny run (about a second): every field a component of `run_tiny` does not replace
TINY_CONFIG: dict[str, Any] = {
    "episodes": 1,
    "n_students": 2,
    "budget": 3,
    "teacher": {"name": "random"},
    "student": {"name": "transformer-lm", "params": {"updates": 2, "dim": 16, "ffn": 32}},
    "environment": {
        "name": "domains",
        "params": {"pool_size": 20, "teacher_corpus_size": 10, "exam_bank_size": 20, "heldout_size": 5},
    },
}


@dataclass
class TinyRun:
    """What `run_tiny` made: the run directory, one `metrics.jsonl` record per episode, the summary."""

    path: Path
    records: list[dict[str, Any]]
    summary: dict[str, Any]
    notices: list[str]


def run_tiny(*plugins: Any, out: Path | None = None, episodes: int = 1, **components: Any) -> TinyRun:
    """Run `plugins` (registered beside every installed plugin) for `episodes` tiny episodes through
    the real loop and return what it wrote.

    `components` name a component and its params as a config does: `teacher="first-k"`,
    `measures=["my-measure"]`, `environment={"name": "tiny", "params": {...}}`; any other config
    field (`budget=4`) works too. The rest is `TINY_CONFIG`. `out` is the run directory (default:
    a fresh temporary folder)."""
    from ilm_core.config import resolve
    from ilm_core.loop import Experiment
    from ilm_core.rundir import RunDir

    raw = copy.deepcopy(TINY_CONFIG) | {"episodes": episodes}
    for key, value in components.items():
        raw[key] = {"name": value} if isinstance(value, str) and key != "device" else copy.deepcopy(value)
    registry = plugin_registry(*plugins, installed=True)
    path = Path(out) / "run" if out is not None else Path(tempfile.mkdtemp(prefix="ilm-tiny-")) / "run"
    notices: list[str] = []
    experiment = Experiment(resolve(raw, registry), registry, RunDir(path), notify=notices.append)
    summary = experiment.run()
    return TinyRun(path=path, records=RunDir(path).read_metrics(), summary=summary, notices=notices)
