"""Students' results must answer what was asked: scores for every sentence, a report per lesson.

A result of the wrong shape (a student's scores for fewer sentences than it was given, a
missing student) would otherwise be scored as if it were right, and could become a run's best
perplexity. `CheckedStudents` checks each `sentence_nll` answer where the exam asks it;
`check_reports` checks what an executor returns against the job.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ilm_core.errors import PluginError
from ilm_core.messages import StudentReport, TrainingJob


class CheckedStudents:
    """A trained group whose `sentence_nll` must give one score per student and sentence."""

    def __init__(self, group: Any, student: str, n_students: int):
        self._group, self._student, self._n = group, student, n_students

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._group, attr)

    def sentence_nll(self, sentences: Sequence[Any]) -> tuple[Any, Any]:
        nll, tokens = self._group.sentence_nll(sentences)
        n = len(sentences)
        rows = [len(row) for row in nll]
        if len(rows) != self._n or any(r != n for r in rows) or len(tokens) != n:
            raise PluginError(
                f"student plugin '{self._student}' returned results of the wrong shape from sentence_nll(): "
                f"{len(rows)} row(s) of {sorted(set(rows))} score(s) and {len(tokens)} token count(s) for "
                f"{self._n} student(s) and {n} sentence(s). It must return one row per student with one NLL per "
                "sentence, and one token count per sentence (docs/writing-plugins.md, Token ids).",
                plugin=self._student,
                stage="sentence_nll",
            )
        return nll, tokens


def check_reports(job: TrainingJob, reports: list[StudentReport], executor: str) -> None:
    """Raise a `PluginError` naming the executor and the student plugin when `reports` do not fit `job`."""
    problems = _problems(job, reports)
    if problems:
        raise PluginError(
            f"executor plugin '{executor}' returned student reports that do not fit the training job (student "
            f"plugin '{job.student.name}', exam plugin '{job.exam.name}'): {'; '.join(problems[:3])}"
            + (f"; and {len(problems) - 3} more" if len(problems) > 3 else "")
            + ". Each of the job's lessons needs one report, with a result for every exam the job names.",
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
    for name in job.exams:  # the record and the divergence policy read the score names of the first student
        given = sorted((r.student, list(r.exams[name].scores)) for r in reports if name in r.exams)
        for student, names in given[1:]:
            if names != given[0][1]:
                problems.append(
                    f"exam {name!r} gave student {student} the scores {names} but student {given[0][0]} {given[0][1]} "
                    "(every student of a round needs the same scores in the same order, the headline first)"
                )
    for r in reports:
        missing = [name for name in job.exams if name not in r.exams]
        if missing:
            problems.append(f"student {r.student} has no result for the exam(s) {', '.join(map(repr, missing))}")
        if len(r.placement) != len(job.placement):
            problems.append(
                f"student {r.student} has {len(r.placement)} placement losses for {len(job.placement)} sentences"
            )
        if job.sentence_losses and len(r.sentence_losses) != len(job.lessons[r.student]):
            problems.append(
                f"student {r.student} has {len(r.sentence_losses)} sentence losses for a lesson of "
                f"{len(job.lessons[r.student])} sentences"
            )
    return problems
