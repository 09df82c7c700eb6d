"""What happens when learning diverges (a student's loss or exam score, or a teacher's statistic, not
finite): the config's `on_diverged` policy, applied by the core so that a diverged student neither ends
a run unexplained nor turns its episode's means into NaN."""

from __future__ import annotations

import math
from collections.abc import Callable

from ilm_core.config import ExperimentConfig
from ilm_core.errors import StudentDivergedError, TeacherDivergedError
from ilm_core.messages import Direction, StudentReport


def apply_divergence_policy(
    reports: list[StudentReport],
    episode: int,
    config: ExperimentConfig,
    direction: Callable[[str, str], Direction],
    notify: Callable[[str], None],
) -> list[StudentReport]:
    """The reports with each diverged student scored as the episode's worst (on_diverged='worst'), or a
    StudentDivergedError (on_diverged='stop', or no student left with a finite score)."""
    diverged = [r for r in reports if r.diverged]
    if not diverged:
        return reports
    ids = ", ".join(str(r.student) for r in diverged)
    finite = [r.exams["feedback"] for r in reports if not r.diverged]
    lr = config.student.params.get("lr")
    lower = "Lower the student's learning rate" + (f" (student.lr = {lr})" if lr is not None else "")
    if config.on_diverged == "stop":
        raise StudentDivergedError(
            f"episode {episode}: student(s) {ids} diverged (training loss or exam score NaN/inf) "
            f"and on_diverged='stop' ends the run. {lower}, or set on_diverged='worst' to score "
            "diverged students as the episode's worst."
        )
    if not finite:
        raise StudentDivergedError(
            f"episode {episode}: every student ({ids}) diverged (training loss or exam score "
            "NaN/inf), so on_diverged='worst' has no finite score to give them and the run stops. "
            f"{lower}."
        )
    # each score of the feedback exam: the worst any student who did not diverge got, by its direction
    worst: dict[str, float] = {}
    for name in finite[0].scores:
        values = [res.scores[name] for res in finite if math.isfinite(res.scores.get(name, math.nan))]
        if values:
            better = direction(name, f"exam plugin '{config.exam.name}''s result")
            worst[name] = max(values) if better == Direction.LOWER else min(values)
    head = finite[0].headline
    notify(f"episode {episode}: student(s) {ids} diverged; scored as the episode's worst ({head} {worst[head]:.4g})")
    fixed = []
    for r in reports:
        if r.diverged:
            exams = {}
            for name, res in r.exams.items():
                res = res.replaced({k: v for k, v in worst.items() if k in res.scores})
                exams[name] = res.model_copy(update={"nll": math.nan}) if res.nll is not None else res
            r = r.model_copy(update={"exams": exams})
        fixed.append(r)
    return fixed


def check_teacher_stats(
    stats: dict[str, float], episode: int, config: ExperimentConfig, notify: Callable[[str], None]
) -> None:
    """Non-finite teacher statistics are treated like diverged students: a notice (written as
    null in metrics.jsonl), or the end of the run under on_diverged='stop'."""
    bad = ", ".join(f"{k}={v}" for k, v in stats.items() if not math.isfinite(v))
    if not bad:
        return
    name = config.teacher.name
    lr = config.teacher.params.get("lr")
    lower = f"lower the teacher's learning rate (teacher.lr = {lr})" if lr is not None else "check its params"
    if config.on_diverged == "stop":
        raise TeacherDivergedError(
            f"episode {episode}: teacher plugin '{name}' reported non-finite statistics ({bad}): its learning "
            f"diverged, and on_diverged='stop' ends the run. Start a new run and {lower}."
        )
    notify(
        f"episode {episode}: teacher plugin '{name}' reported non-finite statistics ({bad}), written as null "
        f"in metrics.jsonl; its learning has likely diverged: {lower}, or set on_diverged='stop' to end such runs"
    )
