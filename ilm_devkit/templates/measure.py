"""`ilm new-plugin --kind measure`: the mean length of the sentences each student was taught."""

SUMMARY = "mean length, in tokens, of the sentences each student was taught, and the share of long ones"
RUN_EXAMPLE = 'ilm run --teacher select-bin --env domains --set \'measures=["exam-domain", "${name}"]\''

PARAMS_HINT = (
    "A measure's params go with its name in the run's `measures` list: "
    '`--set \'measures=["exam-domain", {"name": "${name}", "params": {"long_from": 8}}]\'`.'
)

MODULE = '''\
"""${dist}: the measure `${name}`.

A measure sees each finished episode (what every student was taught, their exam scores and the
teacher's feedback) and returns values for that episode's line of metrics.jsonl: one per student
(`per_student`) and episode-level numbers (`episode`), which `ilm report`, the summary table,
trackers and summary.json show. A run uses it when its config lists it:
`measures = ["exam-domain", "ngram-overlap", "${name}"]`.
"""

from __future__ import annotations

from collections.abc import Iterator

from ilm_core import EpisodeView, Measure, MeasureContext, MeasureResult, MeasureSpec, hookimpl
from pydantic import BaseModel, ConfigDict, Field


class ${params}(BaseModel):
    """Params of `${name}` (in a config: measures = [{name = "${name}", params = {long_from = 8}}])."""

    model_config = ConfigDict(extra="forbid")

    long_from: int = Field(5, ge=1, description="a sentence of at least this many tokens counts as long")


class ${cls}(Measure):
    """Mean sentence length of each student's lesson, and the share of long sentences in the episode."""

    def __init__(self, params: ${params}):
        self.params = params

    def setup(self, context: MeasureContext) -> None:
        # once per run, before the first episode: keep what the measure needs of the environment
        self.context = context

    def measure(self, episode: EpisodeView) -> MeasureResult:
        lengths = [[len(sentence) for sentence in taught] for taught in episode.taught]
        per_student = [sum(ls) / len(ls) if ls else None for ls in lengths]
        every = [n for ls in lengths for n in ls]
        long_share = sum(n >= self.params.long_from for n in every) / len(every) if every else None
        return MeasureResult(
            per_student={"${snake}": per_student},  # one value per student (None: nothing taught)
            episode={"${snake}_mean": _mean(per_student), "${snake}_long_share": long_share},
        )


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


@hookimpl
def ilm_measures() -> Iterator[MeasureSpec]:
    yield MeasureSpec(
        name="${name}",
        summary="${summary}",
        factory=${cls},
        params=${params},
    )
'''

TEST = '''\
"""Tests of `${name}`, registered in-process (no install needed)."""

from ilm_core import Lesson, set_up
from ilm_devkit.testing import episode_view, measure_context, plugin_registry, run_tiny

import ${module}


def build(params: dict):
    measure = plugin_registry(${module}).build("measure", "${name}", params)
    set_up(measure, measure_context(n_students=2, budget=2))
    return measure


def test_measures_the_length_of_what_each_student_was_taught():
    pool = [[1, 2], [1, 2, 3, 4, 5, 6], [3]]
    view = episode_view([Lesson(student=0, indices=[0, 1]), Lesson(student=1, indices=[2])], pool)
    result = build({"long_from": 5}).measure(view)
    assert result.per_student["${snake}"] == [4.0, 1.0]
    assert result.episode["${snake}_mean"] == 2.5
    assert result.episode["${snake}_long_share"] == 1 / 3


def test_a_run_records_it(tmp_path):
    run = run_tiny(${module}, out=tmp_path, measures=["${name}"])
    assert run.records[0]["${snake}_mean"] > 0
    assert "${snake}_mean_last" in run.summary
'''
