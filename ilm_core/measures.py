"""Measures as the core runs them: built from the config, set up once, asked once per episode,
and their results merged into the episode's record by one rule (`merge`).

The core knows no measure by name: the paper's (exam-domain fraction, n-gram overlap with the
exam) are plugins like any other, chosen by the `measures` list of the config, whose default is
the data `ilm_core.config.DEFAULT_MEASURES`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ilm_core.errors import PluginError
from ilm_core.guard import guard_plugin
from ilm_core.interfaces import Measure, MeasureContext, set_up
from ilm_core.messages import EpisodeRecord, EpisodeView, MeasureResult, MeasureValue

if TYPE_CHECKING:
    from ilm_core.config import ExperimentConfig
    from ilm_core.messages import EnvironmentData, Sentence
    from ilm_core.registry import Registry


@dataclass
class Measured:
    """The merged results of an episode's measures, before they enter its record."""

    per_student: dict[str, list[float | None]] = field(default_factory=dict)
    episode: dict[str, MeasureValue] = field(default_factory=dict)
    rounds: list[dict[str, float]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: which measure wrote each per-student name
    owners: dict[str, str] = field(default_factory=dict)

    def add_to(self, per_student: dict[str, list[float | None]]) -> None:
        """Add the per-student values to a record's, naming the measure that reuses a name already there."""
        for key, values in self.per_student.items():
            if key in per_student:
                _fail(self.owners[key], f"per-student values under {key!r}, a name the core writes; choose another")
            per_student[key] = values


def _fail(name: str, problem: str) -> None:
    raise PluginError(f"measure plugin '{name}' returned {problem}", plugin=name, stage="measure")


def build_measures(
    config: ExperimentConfig,
    registry: Registry,
    data: EnvironmentData,
    label: Callable[[Sentence], bool | None],
    notify: Callable[[str], None],
) -> list[tuple[str, Measure]]:
    """The config's measures, built, guarded (their errors name them) and set up for `data`."""
    context = MeasureContext(
        data=data,
        environment=config.environment.name,
        label=label,
        n_students=config.n_students,
        budget=config.budget,
        episodes=config.episodes,
        notify=notify,
    )
    built = []
    for choice in config.measures:
        measure: Measure = guard_plugin(registry.build("measure", choice.name, choice.params), "measure", choice.name)
        set_up(measure, context)
        built.append((choice.name, measure))
    return built


def measure_episode(
    measures: Sequence[tuple[str, Measure]], view: EpisodeView, notify: Callable[[str], None]
) -> Measured:
    """Ask every measure about one episode and merge what they return (see `merge`); their notes
    shown to the user (`notify`), each once."""
    out = Measured()
    for name, measure in measures:
        merge(out, name, measure.measure(view), n_students=len(view.lessons), rounds=len(view.rounds))
    for note in dict.fromkeys(out.notes):
        notify(f"episode {view.episode}: {note}")
    return out


#: top-level keys of a metrics.jsonl line that the core writes, which no measure may write
CORE_FIELDS = frozenset(EpisodeRecord.model_fields)


def merge(out: Measured, name: str, result: Any, *, n_students: int, rounds: int) -> None:
    """Add one measure's result to `out`: per-student values to `per_student[key]`, episode-level
    values to top-level keys, round values to the round entries. A measure that returns something
    else, a list of the wrong length, or a name already written (by the core or another measure)
    is named."""

    def fail(problem: str) -> None:
        _fail(name, problem)

    if not isinstance(result, MeasureResult):
        fail(f"a {type(result).__name__}, not an ilm_core.MeasureResult")
    for key, values in result.per_student.items():
        if key in out.per_student:
            fail(f"per-student values under {key!r}, a name measure '{out.owners[key]}' writes; choose another")
        if len(values) != n_students:
            fail(f"{len(values)} per-student values under {key!r} for {n_students} students; give one per student")
        out.per_student[key] = list(values)
        out.owners[key] = name
    for key, value in result.episode.items():
        if key in CORE_FIELDS or key in out.episode:
            fail(f"an episode value under {key!r}, a name already in the record; choose another")
        out.episode[key] = value
    if result.rounds:
        if len(result.rounds) != rounds:
            fail(f"values for {len(result.rounds)} rounds in an episode of {rounds}; give one entry per round")
        if not out.rounds:
            out.rounds = [{} for _ in range(rounds)]
        for entry, values in zip(out.rounds, result.rounds, strict=True):
            entry.update(values)
    out.notes.extend(result.notes)
