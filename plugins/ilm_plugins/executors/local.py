"""In-process executors: sequential and batched, and `auto`, which picks one."""

from __future__ import annotations

from typing import Any

from ilm_core import Executor, ExecutorContext, StudentReport, TrainingJob
from ilm_core.training import Workbench


class SequentialExecutor(Executor):
    """One student after another: the reference every faster executor must match."""

    description = "sequential (one student at a time)"

    def __init__(self, params: Any = None):
        self.params = params

    def prepare(self, context: ExecutorContext) -> None:
        super().prepare(context)
        self.bench = Workbench(context.registry)
        self.description = f"sequential ({context.n_students} students one at a time on {context.device})"

    def run(self, job: TrainingJob) -> list[StudentReport]:
        reports = []
        for i in range(len(job.seeds)):
            reports += self.bench.train_and_score(job.subset([i]), self.context.device, ids=[i])
        return reports


class BatchedExecutor(SequentialExecutor):
    """All students of an episode as one model (groups of `max_group`), when the student can."""

    def prepare(self, context: ExecutorContext) -> None:
        super().prepare(context)
        self.batched = self.bench.supports_batching(context.student)
        n, group = context.n_students, (self.params.max_group if self.params else None)
        if self.batched and group and group < n:
            self.description = f"batched ({n} students in groups of at most {group} on {context.device})"
        elif self.batched:
            self.description = f"batched ({n} students as one model on {context.device})"
        else:
            self.description = (
                f"batched -> one at a time (student '{context.student.name}' cannot batch; "
                f"{n} students on {context.device})"
            )
            context.notify(
                f"student '{context.student.name}' does not support batched training; the batched "
                "executor trains its students one at a time instead"
            )

    def run(self, job: TrainingJob) -> list[StudentReport]:
        if not self.batched:
            return super().run(job)
        group = (self.params.max_group if self.params else None) or len(job.seeds)
        reports = []
        for start in range(0, len(job.seeds), group):
            ids = list(range(start, min(start + group, len(job.seeds))))
            reports += self.bench.train_and_score(job.subset(ids), self.context.device, ids=ids)
        return reports


class AutoExecutor(Executor):
    """Batched on one device; multiprocess over every visible GPU when there are several."""

    def __init__(self, params: Any = None):
        self.inner: Executor | None = None

    def prepare(self, context: ExecutorContext) -> None:
        gpus = 0
        if context.device.startswith("cuda"):
            import torch

            gpus = torch.cuda.device_count()
        if gpus > 1 and context.device == "cuda" and "multiprocess" in context.registry.specs("executor"):
            devices = ",".join(f"cuda:{i}" for i in range(gpus))
            self.inner = context.registry.build("executor", "multiprocess", {"devices": devices})
        else:
            self.inner = context.registry.build("executor", "batched", {})
        self.inner.prepare(context)
        self.description = f"auto -> {self.inner.description}"

    def run(self, job: TrainingJob) -> list[StudentReport]:
        assert self.inner is not None
        return self.inner.run(job)

    def close(self) -> None:
        if self.inner is not None:
            self.inner.close()
