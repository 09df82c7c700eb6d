"""In-process executors: sequential and batched, and `auto`, which picks one."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ilm_core import (
    Executor,
    ExecutorContext,
    StudentReport,
    StudentTrainer,
    TrainingJob,
    set_up,
)
from ilm_threads import current as thread_plan
from ilm_threads import guard as thread_guard

#: students per stacked model on a CPU by default: batching stops paying beyond about this many
#: students (measured in benchmarks/README.md); 12 students on two cores make two lanes of 6
CPU_GROUP = 6


def chunks(n: int, parts: int) -> list[list[int]]:
    """Split students 0..n-1 into at most `parts` contiguous, nearly equal, non-empty chunks."""
    parts = max(1, min(parts, n))
    size, extra = divmod(n, parts)
    out, start = [], 0
    for k in range(parts):
        stop = start + size + (1 if k < extra else 0)
        out.append(list(range(start, stop)))
        start = stop
    return [c for c in out if c]


class SequentialExecutor(Executor):
    """One student after another: the reference every faster executor must match."""

    description = "sequential (one student at a time)"

    def __init__(self, params: Any = None):
        self.params = params

    def prepare(self, context: ExecutorContext) -> None:
        self.trainer = StudentTrainer(context.registry)
        self.description = f"sequential ({context.n_students} students one at a time on {context.device})"

    def run(self, job: TrainingJob) -> list[StudentReport]:
        thread_guard()  # one student at a time on every core: no spinning waits while other processes run
        reports = []
        for i in range(len(job.seeds)):
            reports += self.trainer.train_and_score(job.subset([i]), self.context.device, ids=[i])
        return reports

    def save_students(self, cohort: str) -> dict[str, Any]:
        return self.trainer.save(cohort)

    def load_students(self, cohort: str, state: dict[str, Any]) -> None:
        self.trainer.load(cohort, state)


class BatchedExecutor(SequentialExecutor):
    """All students of an episode as one model, or as a few models trained at the same time.

    On a CPU one stacked model leaves cores idle between its many small operations; a few
    stacks ("lanes"), each on its own thread with its share of torch's threads, keep them busy
    (benchmarks/README.md). Lanes need a student with the `concurrent` capability: its
    training must not share mutable state (such as the global torch RNG) across threads.
    """

    def prepare(self, context: ExecutorContext) -> None:
        super().prepare(context)
        self.batched = self.trainer.supports(context.student, "batched")
        n = context.n_students
        self.max_group = self.params.max_group if self.params else None
        auto = (self.params.lanes if self.params else "auto") == "auto"
        if auto and context.device == "cpu" and self.max_group is None:
            # groups fixed by the number of students, not by the threads: the same students
            # (and so the same numbers) with OMP_NUM_THREADS=1 as with all of a laptop's cores
            self.max_group = CPU_GROUP
        self.lanes, self.threads = self._plan_lanes(context) if self.batched else (1, 1)
        self._pool: ThreadPoolExecutor | None = None
        if not self.batched:
            self.description = (
                f"batched -> one at a time (student '{context.student.name}' cannot batch; "
                f"{n} students on {context.device})"
            )
            context.notify(
                f"student '{context.student.name}' does not support batched training; the batched "
                "executor trains its students one at a time instead"
            )
            return
        sizes = [len(g) for g in self.groups(n)]
        if len(sizes) == 1:
            self.description = f"batched ({n} students as one model on {context.device})"
        elif self.lanes > 1:
            self.description = (
                f"batched ({n} students as {len(sizes)} models of {_sizes(sizes)}, {self.lanes} at a time "
                f"with {self.threads} thread{'s' if self.threads > 1 else ''} each, on {context.device})"
            )
        else:
            self.description = f"batched ({n} students in groups of at most {max(sizes)} on {context.device})"
        if self.lanes > 1:
            self._pool = ThreadPoolExecutor(self.lanes, thread_name_prefix="ilm-lane", initializer=self._lane_init)

    def _plan_lanes(self, context: ExecutorContext) -> tuple[int, int]:
        """(lanes, torch threads per lane) for this device, student and number of students."""
        plan = thread_plan()  # lanes on every usable core; threads per operation as the plan says
        wanted = self.params.lanes if self.params else "auto"
        if wanted == "auto":
            on_cpu = context.device == "cpu"
            n_groups = -(-context.n_students // self.max_group) if self.max_group else 1
            wanted = plan.max_lanes(n_groups) if on_cpu else 1
        lanes = min(int(wanted), context.n_students)
        if lanes > 1 and not self.trainer.supports(context.student, "concurrent"):
            context.notify(
                f"student '{context.student.name}' does not declare the 'concurrent' capability; "
                "the batched executor trains its groups one after another"
            )
            lanes = 1
        return lanes, plan.lane_threads(lanes)

    def _lane_init(self) -> None:
        import torch

        torch.set_num_threads(self.threads)  # per thread: the main thread keeps its own setting

    def groups(self, n: int) -> list[list[int]]:
        """Contiguous groups of near-equal size: at least one per lane, none above max_group."""
        return chunks(n, max(self.lanes, -(-n // self.max_group) if self.max_group else 1))

    def run(self, job: TrainingJob) -> list[StudentReport]:
        if not self.batched:
            return super().run(job)
        device = self.context.device
        groups = self.groups(len(job.seeds))
        main = thread_guard()  # the groups' operations on the main thread, or the lanes' share of its threads
        if self._pool is None:
            return [r for ids in groups for r in self.trainer.train_and_score(job.subset(ids), device, ids=ids)]
        lane = self.threads if main is None or main > 1 else 1
        futures = [self._pool.submit(self._lane, lane, job.subset(ids), ids) for ids in groups]
        return [r for f in futures for r in f.result()]

    def _lane(self, threads: int, job: TrainingJob, ids: list[int]) -> list[StudentReport]:
        import torch

        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        return self.trainer.train_and_score(job, self.context.device, ids)

    def close(self) -> None:
        if getattr(self, "_pool", None) is not None:
            self._pool.shutdown(wait=True)  # type: ignore[union-attr]
            self._pool = None


def _sizes(sizes: list[int]) -> str:
    return str(sizes[0]) if len(set(sizes)) == 1 else "/".join(map(str, sizes))


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
        set_up(self.inner, context)
        self.description = f"auto -> {self.inner.description}"

    def run(self, job: TrainingJob) -> list[StudentReport]:
        assert self.inner is not None
        return self.inner.run(job)

    def save_students(self, cohort: str) -> dict[str, Any]:
        assert self.inner is not None
        return self.inner.save_students(cohort)

    def load_students(self, cohort: str, state: dict[str, Any]) -> None:
        assert self.inner is not None
        self.inner.load_students(cohort, state)

    def close(self) -> None:
        if self.inner is not None:
            self.inner.close()
