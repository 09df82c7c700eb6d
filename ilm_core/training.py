"""Train and examine a group of students: the work every executor does, wherever it runs.

Executors decide *where* and *in which groups* students train; this module does the training
of one group in the current process, so sequential, batched and worker-process executors
share one code path and give the same students.
"""

from __future__ import annotations

import math
import threading
from typing import Any

from ilm_core.errors import PluginError
from ilm_core.interfaces import Exam, Student, StudentGroup, TrainedStudents
from ilm_core.messages import ComponentRef, SentenceLoss, StudentFeedback, StudentReport, TrainingJob
from ilm_core.records import USES_FEEDBACK
from ilm_core.registry import Registry, default_registry
from ilm_core.report_check import CheckedStudents
from ilm_core.signals import RunInterrupted


class StudentTrainer:
    """Builds the student and exam plugins of a job once and reuses them across episodes.

    It also keeps the students of every open cohort (see `TrainingJob`), one group per set of
    student ids, so whoever owns the trainer (an executor, a worker process) keeps them.
    """

    def __init__(self, registry: Registry | None = None):
        self.registry = registry or default_registry()
        self._built: dict[tuple[str, str, str], Any] = {}
        self._lock = threading.Lock()  # executors may train groups on several threads
        #: cohort -> student ids -> the group that trains them
        self.cohorts: dict[str, dict[tuple[int, ...], StudentGroup]] = {}
        #: cohort -> student ids -> saved state, restored when the group is next made
        self._restore: dict[str, dict[tuple[int, ...], Any]] = {}

    def component(self, kind: str, ref: ComponentRef) -> Any:
        key = (kind, ref.name, repr(sorted(ref.params.items())))
        with self._lock:
            if key not in self._built:
                self._built[key] = self.registry.build(kind, ref.name, ref.params)
            return self._built[key]

    def supports(self, ref: ComponentRef, capability: str) -> bool:
        """Whether the student plugin declares `capability` ("batched", "concurrent", ...)."""
        return capability in self.registry.get("student", ref.name).capabilities

    def _group(
        self, job: TrainingJob, device: str, ids: list[int], before: list[list[float] | None] | None = None
    ) -> TrainedStudents:
        """Train the job's students: fresh ones without a cohort, the kept ones with one. When the job
        asks for sentence losses, each student's loss on its lesson before training goes into `before`."""
        student: Student = self.component("student", job.student)
        told = self._told(job)
        if job.cohort is None:
            if told is None and not job.sentence_losses:
                return student.train(job.lessons, job.seeds, job.vocab_size, device)
            try:
                group = student.create(job.seeds, job.vocab_size, device)
            except NotImplementedError:  # a student that cannot persist: no losses before training
                if told is not None:
                    raise
                return student.train(job.lessons, job.seeds, job.vocab_size, device)
        else:
            group = self._kept(job.cohort, job, student, device, ids)
        if told is not None:
            group.receive(*told)
        if job.sentence_losses:
            _lesson_losses(group, job.lessons, job.student.name, before)
        group.train(job.lessons)
        return group

    def _kept(self, cohort: str, job: TrainingJob, student: Student, device: str, ids: list[int]) -> StudentGroup:
        """The cohort's group of students `ids`: made (or restored from a saved state) the first time;
        never made again for a job that continues them (`TrainingJob.continued`)."""
        key = tuple(ids)
        with self._lock:
            groups = self.cohorts.setdefault(cohort, {})
            group = groups.get(key)
        if group is None:
            saved = self._restore.get(cohort, {}).pop(key, None)
            if saved is None and job.continued:
                raise PluginError(
                    f"the students {list(ids)} of cohort '{cohort}' are to be trained further, but this executor "
                    "holds neither them nor a saved state of them (released too early, or grouped differently "
                    "than before?); it must train a cohort's students in the same groups every round. Refused "
                    "instead of training new students in their place."
                )
            group = student.create(job.seeds, job.vocab_size, device)
            if saved is not None:
                group.load_state_dict(saved)
            with self._lock:
                groups[key] = group
        return group

    def _told(self, job: TrainingJob) -> tuple[list[StudentFeedback | None], list[str | None]] | None:
        """What the job tells its students before they train (feedback, lesson teachers), or None when
        it tells them nothing or the student plugin lacks the "uses-feedback" capability."""
        if not (job.student_feedback or job.lesson_teachers) or not self.supports(job.student, USES_FEEDBACK):
            return None
        return list(job.student_feedback), list(job.lesson_teachers)

    def save(self, cohort: str) -> dict[str, Any]:
        """State of every group of a cohort, keyed by its student ids ("0,1,2")."""
        with self._lock:
            groups = dict(self.cohorts.get(cohort, {}))
            pending = dict(self._restore.get(cohort, {}))
        state = {_key(ids): saved for ids, saved in pending.items()}
        state.update({_key(ids): group.state_dict() for ids, group in groups.items()})
        return state

    def load(self, cohort: str, state: dict[str, Any]) -> None:
        """Forget the cohort's groups; remake them from `state` when they are next trained."""
        with self._lock:
            self.cohorts.pop(cohort, None)
            self._restore[cohort] = {tuple(int(i) for i in k.split(",")): v for k, v in state.items()}

    def release(self, cohort: str, ids: list[int]) -> None:
        """Forget the group of students `ids` of a cohort (the cohort goes with its last group)."""
        with self._lock:
            for held in (self.cohorts, self._restore):
                groups = held.get(cohort, {})
                groups.pop(tuple(ids), None)
                if not groups:
                    held.pop(cohort, None)

    def train_and_score(self, job: TrainingJob, device: str, ids: list[int] | None = None) -> list[StudentReport]:
        """Train all students of `job` as one group and score them on every exam of the job.

        `ids` are the students' indices in the episode (default 0..n-1).
        """
        ids = ids if ids is not None else list(range(len(job.seeds)))
        exam: Exam = self.component("exam", job.exam)
        before: list[list[float] | None] = [None] * len(ids)
        try:
            trained = self._group(job, device, ids, before)
            losses = list(trained.final_losses)
            stats, used = trained.stats(), trained.used()
        except Exception as exc:
            raise _plugin_failure("student", job.student.name, "train", exc) from exc
        results = {}
        group = CheckedStudents(trained, job.student.name, len(ids))  # scores of the wrong shape name the student
        after: list[list[float]] = [[] for _ in ids]
        placement: list[list[float]] = [[] for _ in ids]
        try:
            if job.sentence_losses:
                after = _lesson_losses(group, job.lessons, job.student.name)
            if job.placement:
                placement = _per_token(group, job.placement)
        except Exception as exc:
            raise _plugin_failure("student", job.student.name, "sentence_nll", exc) from exc
        for name, sentences in job.exams.items():
            try:
                results[name] = _score(exam, group, sentences, job.labels.get(name), job.item_sets.get(name))
            except Exception as exc:
                raise _plugin_failure("exam", job.exam.name, f"score ({name} exam)", exc) from exc
        samples: list[list[list[int]]] = [[] for _ in ids]
        if job.probe:
            try:
                samples = group.generate(job.probe, job.probe_seeds)
            except Exception as exc:
                raise _plugin_failure("student", job.student.name, "generate", exc) from exc
        if job.cohort is not None and job.release:
            self.release(job.cohort, ids)
        reports = []
        for i, (sid, seed) in enumerate(zip(ids, job.seeds, strict=True)):
            exams = {name: res[i] for name, res in results.items()}
            scores = [v for r in exams.values() for v in r.scores.values()]
            diverged = not math.isfinite(losses[i]) or any(not math.isfinite(v) for v in scores)
            reports.append(
                StudentReport(
                    student=sid,
                    seed=seed,
                    final_loss=losses[i],
                    diverged=diverged,
                    exams=exams,
                    samples=samples[i],
                    stats=stats[i],
                    used=used[i] if used is not None else None,
                    sentence_losses=[
                        SentenceLoss(before=b, after=a)
                        for b, a in zip(before[i] or _nones(len(after[i])), after[i], strict=True)
                    ],
                    placement=placement[i],
                )
            )
        return reports


def _per_token(group: Any, sentences: list[Any]) -> list[list[float]]:
    """Each student's mean NLL per predicted token on each of `sentences` ([S][n])."""
    nll, tokens = group.sentence_nll(sentences)
    return [[float(x) / max(t, 1) for x, t in zip(row, tokens, strict=True)] for row in nll]


def _lesson_losses(
    group: Any, lessons: list[list[Any]], student: str, into: list[list[float] | None] | None = None
) -> list[list[float]]:
    """Each student's loss (nats per token) on each sentence of its own lesson, scored in one call on the
    union of the lessons; written into `into` too when given."""
    union = list(dict.fromkeys(tuple(s) for lesson in lessons for s in lesson))
    scored = _per_token(CheckedStudents(group, student, len(lessons)), [list(s) for s in union]) if union else []
    where = {s: j for j, s in enumerate(union)}
    out = [[scored[i][where[tuple(s)]] for s in lesson] for i, lesson in enumerate(lessons)]
    if into is not None:
        into[:] = out
    return out


def _score(
    exam: Exam, group: Any, items: list[Any], labels: list[str] | None, sets: list[list[int]] | None
) -> list[Any]:
    """Each student's result on the exam: on all its items, or (students with hidden goals) on the
    items of its own set, one scoring call per distinct set (as many items in all as one whole exam)."""
    if not sets:
        return exam.score(group, items, labels) if labels else exam.score(group, items)
    results: list[Any] = [None] * len(sets)
    for chosen in dict.fromkeys(tuple(s) for s in sets):
        part, part_labels = [items[j] for j in chosen], [labels[j] for j in chosen] if labels else None
        scored = exam.score(group, part, part_labels) if part_labels else exam.score(group, part)
        for i, s in enumerate(sets):
            if tuple(s) == chosen:
                results[i] = scored[i]
    return results


def _key(ids: tuple[int, ...]) -> str:
    return ",".join(map(str, ids))


def _plugin_failure(kind: str, name: str, stage: str, exc: Exception) -> Exception:
    """The error to raise for `exc` from a plugin: a PluginError naming it, unless it already is
    one or is the user's interruption (SIGINT/SIGTERM), which must reach the CLI as it is."""
    if isinstance(exc, PluginError | RunInterrupted):
        return exc
    return PluginError(
        f"{kind} plugin '{name}' raised during {stage}: {type(exc).__name__}: {exc}",
        plugin=name,
        stage=stage,
    )


def _nones(n: int) -> list[float | None]:
    """No losses before training (the student plugin could not be scored before it trained)."""
    return [None] * n
