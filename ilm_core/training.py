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
from ilm_core.interfaces import Exam, Student
from ilm_core.messages import ComponentRef, StudentReport, TrainingJob
from ilm_core.registry import Registry, default_registry


class Workbench:
    """Builds the student and exam plugins of a job once and reuses them across episodes."""

    def __init__(self, registry: Registry | None = None):
        self.registry = registry or default_registry()
        self._built: dict[tuple[str, str, str], Any] = {}
        self._lock = threading.Lock()  # executors may train groups on several threads

    def component(self, kind: str, ref: ComponentRef) -> Any:
        key = (kind, ref.name, repr(sorted(ref.params.items())))
        with self._lock:
            if key not in self._built:
                self._built[key] = self.registry.build(kind, ref.name, ref.params)
            return self._built[key]

    def supports(self, ref: ComponentRef, capability: str) -> bool:
        """Whether the student plugin declares `capability` ("batched", "concurrent", ...)."""
        return capability in self.registry.get("student", ref.name).capabilities

    def train_and_score(self, job: TrainingJob, device: str, ids: list[int] | None = None) -> list[StudentReport]:
        """Train all students of `job` as one group and score them on every exam of the job.

        `ids` are the students' indices in the episode (default 0..n-1).
        """
        ids = ids if ids is not None else list(range(len(job.seeds)))
        student: Student = self.component("student", job.student)
        exam: Exam = self.component("exam", job.exam)
        try:
            group = student.train(job.lessons, job.seeds, job.vocab_size, device)
            losses = list(group.final_losses)
        except Exception as exc:
            raise _plugin_failure("student", job.student.name, "train", exc) from exc
        results = {}
        for name, sentences in job.exams.items():
            try:
                labels = job.labels.get(name)
                results[name] = exam.score(group, sentences, labels) if labels else exam.score(group, sentences)
            except Exception as exc:
                raise _plugin_failure("exam", job.exam.name, f"score ({name} exam)", exc) from exc
        reports = []
        for i, (sid, seed) in enumerate(zip(ids, job.seeds, strict=True)):
            exams = {name: res[i] for name, res in results.items()}
            diverged = not math.isfinite(losses[i]) or any(not math.isfinite(r.perplexity) for r in exams.values())
            reports.append(StudentReport(student=sid, seed=seed, final_loss=losses[i], diverged=diverged, exams=exams))
        return reports


def _plugin_failure(kind: str, name: str, stage: str, exc: Exception) -> PluginError:
    if isinstance(exc, PluginError):
        return exc
    return PluginError(
        f"{kind} plugin '{name}' raised during {stage}: {type(exc).__name__}: {exc}",
        plugin=name,
        stage=stage,
    )
