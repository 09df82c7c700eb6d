"""The students' reports must answer the job that was sent: one per lesson, every exam, every item.

A report of the wrong shape (an exam scored on fewer items than it has, a missing student)
would otherwise be scored as if it were right, and could become a run's best perplexity.
"""

from __future__ import annotations

import math

from ilm_core.errors import PluginError
from ilm_core.messages import StudentReport, TrainingJob


def check_reports(job: TrainingJob, reports: list[StudentReport], executor: str) -> None:
    """Raise a `PluginError` naming the executor and the student plugin when `reports` do not fit `job`."""
    problems = _problems(job, reports)
    if problems:
        raise PluginError(
            f"executor plugin '{executor}' returned student reports that do not fit the training job (student "
            f"plugin '{job.student.name}', exam plugin '{job.exam.name}'): {'; '.join(problems[:3])}"
            + (f"; and {len(problems) - 3} more" if len(problems) > 3 else "")
            + ". Each of the job's lessons needs one report, scored on every item of every exam it names.",
            plugin=executor,
            stage="run",
        )


def _problems(job: TrainingJob, reports: list[StudentReport]) -> list[str]:
    n = len(job.lessons)
    if not isinstance(reports, list) or not all(isinstance(r, StudentReport) for r in reports):
        return [f"expected a list of {n} StudentReport, got {type(reports).__name__}"]
    if len(reports) != n:
        return [f"{len(reports)} reports for {n} lessons"]
    students = sorted(r.student for r in reports)
    if students != list(range(n)):
        return [f"students {students}, expected 0..{n - 1} once each"]
    problems = []
    for r in reports:
        for name, items in job.exams.items():
            result = r.exams.get(name)
            if result is None:
                problems.append(f"student {r.student} has no '{name}' exam result")
            elif len(result.item_perplexities) != len(items):
                problems.append(
                    f"student {r.student}'s '{name}' exam has {len(result.item_perplexities)} item scores "
                    f"for {len(items)} items"
                )
            elif not r.diverged and not (math.isfinite(result.perplexity) and result.perplexity > 0):
                problems.append(
                    f"student {r.student}'s '{name}' perplexity is {result.perplexity!r} but it is not marked diverged"
                )
    return problems
