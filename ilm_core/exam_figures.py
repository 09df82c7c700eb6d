"""An episode's exam figures as its record keeps them: means over the students, each named by what
it is (accuracy, an evaluation's score, a component's, any other score of the exams)."""

from __future__ import annotations

import statistics

from ilm_core.messages import StudentReport


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
        names = [n for n in reports[0].exams[exam].scores if n != "perplexity" and (n != "accuracy" or prefix)]
        for name in names:
            if not all(name in r.exams[exam].scores for r in reports):
                continue
            values = [r.exams[exam].scores[name] for r in reports]
            per_student[f"{prefix}{name}"] = list[float | None](values)
            out[f"{prefix}{name}_mean"] = statistics.fmean(values)
            out[f"{prefix}{name}_std"] = statistics.pstdev(values)
    return out
