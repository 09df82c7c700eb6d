"""`ilm bench`: the same N students trained by each executor, timed, from one command.

Everything is driven through the registry by name (environment `domains`, students, executors),
so the core imports no reference plugin. One row per (executor, student): wall seconds of one
episode's work (train and score N students), student-updates per second, peak memory per
student and the speed ratio against the sequential native student.
"""

from __future__ import annotations

import gc
import os
import random
import statistics
import threading
import time
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel

from ilm_core import seeding
from ilm_core.errors import ConfigError, IlmError
from ilm_core.interfaces import ExecutorContext
from ilm_core.messages import ComponentRef, TrainingJob
from ilm_core.registry import Registry

#: student sizes: cpu = the native student's own defaults; paper = fairseq's transformer_lm
SIZES: dict[str, dict[str, Any]] = {
    "cpu": {},
    "paper": {"layers": 6, "dim": 512, "heads": 8, "ffn": 2048},
}
NATIVE = "transformer-lm"
FAIRSEQ = "fairseq-lm"
DEFAULT_EXECUTORS = ("sequential", "batched", "multiprocess")


class BenchRow(BaseModel):
    """One measured (executor, student) pair."""

    executor: str
    description: str
    student: str
    students: int
    updates: int
    size: str
    device: str
    repeats: int
    threads: int  # torch intra-op threads of the benchmarking process
    seconds: float  # median wall seconds of one run (train + score N students)
    seconds_all: list[float]
    updates_per_second: float  # student-updates per second
    memory_mb_per_student: float | None
    memory_method: str
    ratio_vs_sequential: float | None = None


def make_job(registry: Registry, student: ComponentRef, n: int, seed: int, budget: int = 10) -> TrainingJob:
    """N random lessons of the `domains` environment (seeded), scored like an episode."""
    data = registry.build("environment", "domains", {}).build(seeding.derive(seed, "environment"))
    rng = random.Random(seed)
    lessons = [[list(data.pool[j]) for j in rng.sample(range(len(data.pool)), budget)] for _ in range(n)]
    exams = {"feedback": [list(s) for s in data.exam]}
    if data.heldout_exam:
        exams["heldout"] = [list(s) for s in data.heldout_exam]
    return TrainingJob(
        student=student,
        exam=ComponentRef(name="perplexity"),
        vocab_size=len(data.vocabulary),
        lessons=lessons,
        seeds=[seeding.derive(seed, "student", 0, i) for i in range(n)],
        exams=exams,
    )


def executor_params(name: str, device: str) -> dict[str, Any]:
    """multiprocess: two CPU workers on a CPU, one worker per visible GPU on CUDA."""
    if name != "multiprocess":
        return {}
    if device.startswith("cuda"):
        import torch

        count = torch.cuda.device_count()
        return {"devices": ",".join(f"cuda:{i}" for i in range(count)) or device}
    return {"devices": "cpu,cpu"}


class _RssSampler:
    """Peak resident memory of this process and its children, sampled every few ms (Linux)."""

    def __init__(self, interval: float = 0.005):
        self.interval, self.peak, self._stop = interval, 0, threading.Event()
        self.page = os.sysconf("SC_PAGE_SIZE")

    def rss(self) -> int:
        me = os.getpid()
        total = 0
        for pid in ["self", *self._children(me)]:
            try:
                with open(f"/proc/{pid}/statm") as f:
                    total += int(f.read().split()[1]) * self.page
            except (OSError, ValueError, IndexError):
                pass
        return total

    @staticmethod
    def _children(parent: int) -> list[str]:
        try:
            with open(f"/proc/{parent}/task/{parent}/children") as f:
                return f.read().split()
        except OSError:
            return []

    def __enter__(self) -> _RssSampler:
        self.base = self.peak = self.rss()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, self.rss())

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.rss())


def _trim_heap() -> None:
    """Give freed heap pages back to the OS so an RSS delta sees a run's own allocations."""
    gc.collect()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


class _Contender:
    """One (executor, student) pair: its prepared executor, its job and its timings so far."""

    def __init__(
        self,
        registry: Registry,
        executor: str,
        student: ComponentRef,
        job: TrainingJob,
        device: str,
        notify: Callable[[str], None],
    ):
        self.name, self.student, self.job, self.device = executor, student, job, device
        self.ex = registry.build("executor", executor, executor_params(executor, device))
        n = len(job.seeds)
        self.ex.prepare(ExecutorContext(registry=registry, student=student, n_students=n, device=device, notify=notify))
        self.times: list[float] = []
        self.rss_peak = 0.0
        self.cuda_peak = 0.0

    @property
    def cuda(self) -> bool:
        return self.device.startswith("cuda")

    def run_once(self, timed: bool) -> None:
        """One episode's work; when timed, record wall seconds and peak memory."""
        if not timed:
            self.ex.run(self.job)  # warm-up: worker start-up, first-call costs
            return
        _trim_heap()
        if self.cuda:
            import torch

            torch.cuda.synchronize()
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
            base = torch.cuda.memory_allocated()
        sampler = _RssSampler()
        with sampler:
            start = time.perf_counter()
            self.ex.run(self.job)
            if self.cuda:
                torch.cuda.synchronize()
            self.times.append(time.perf_counter() - start)
        self.rss_peak = max(self.rss_peak, float(sampler.peak - sampler.base))
        if self.cuda:
            self.cuda_peak = max(self.cuda_peak, float(torch.cuda.max_memory_allocated() - base))

    def memory(self) -> tuple[float | None, str]:
        n = len(self.job.seeds)
        if self.cuda and self.name == "multiprocess":
            return None, "n/a (in workers)"
        if self.ex.remote_workers:
            return None, "n/a (in remote workers)"
        if self.cuda:
            return self.cuda_peak / n / 2**20, "cuda max_memory_allocated / N"
        return self.rss_peak / n / 2**20, "peak RSS delta / N (sampled)"


def measure_interleaved(contenders: list[_Contender], repeats: int, notify: Callable[[str], None]) -> None:
    """Warm every contender up once, then time them in rounds: A, B, C, A, B, C, ...

    Interleaving puts every executor under the same machine conditions in each round, so a
    shared machine's drift (other jobs starting or stopping) moves all rows alike and the
    per-round ratios stay meaningful.
    """
    for c in contenders:
        notify(f"warming up {c.name} with {c.student.name}")
        c.run_once(timed=False)
    for r in range(repeats):
        notify(f"round {r + 1}/{repeats}")
        for c in contenders:
            c.run_once(timed=True)


def run_bench(
    registry: Registry,
    students: int = 12,
    updates: int = 20,
    size: Literal["cpu", "paper"] = "cpu",
    device: str = "cpu",
    executors: list[str] | None = None,
    repeats: int = 5,
    seed: int = 6639,
    threads: int | None = None,
    notify: Callable[[str], None] = lambda message: None,
) -> list[BenchRow]:
    """Train the same students with every executor (and fairseq-lm sequentially when installed).

    `threads` sets torch's intra-op threads of this process (in-process executors); workers of
    `multiprocess` use one thread each when several share the CPU.
    """
    import torch

    if threads is not None:
        torch.set_num_threads(threads)
    if size not in SIZES:
        raise ConfigError(f"--size {size!r} is unknown; choose one of: {', '.join(SIZES)}")
    names = list(executors or DEFAULT_EXECUTORS)
    for name in names:
        registry.get("executor", name)  # unknown names fail before any training
    params = {**SIZES[size], "updates": updates}
    plan: list[tuple[str, str]] = [(name, NATIVE) for name in names]
    fairseq = registry.specs("student").get(FAIRSEQ)
    if fairseq is not None and not fairseq.missing_requirements() and "sequential" in names:
        plan.append(("sequential", FAIRSEQ))
    elif fairseq is not None and fairseq.missing_requirements():
        notify(f"student '{FAIRSEQ}' skipped: it needs {', '.join(fairseq.missing_requirements())}")
    contenders: list[_Contender] = []
    try:
        for executor, student_name in plan:
            student_params = dict(params)
            if student_name == FAIRSEQ and size == "paper":
                student_params["preset"] = "paper"
            student = ComponentRef(name=student_name, params=student_params)
            try:
                registry.validate_params("student", student_name, student.params)
            except IlmError as exc:
                notify(f"student '{student_name}' skipped: {exc}")
                continue
            job = make_job(registry, student, students, seed)
            notify(f"preparing {executor} with {student_name} ({students} students, {updates} updates)")
            contenders.append(_Contender(registry, executor, student, job, device, notify))
        measure_interleaved(contenders, repeats, notify)
    finally:
        for c in contenders:
            c.ex.close()
    rows = []
    for c in contenders:
        seconds = statistics.median(c.times)
        memory, method = c.memory()
        rows.append(
            BenchRow(
                executor=c.name,
                description=c.ex.description or c.name,
                student=c.student.name,
                students=students,
                updates=updates,
                size=size,
                device=device,
                repeats=repeats,
                threads=torch.get_num_threads(),
                seconds=seconds,
                seconds_all=c.times,
                updates_per_second=students * updates / seconds if seconds > 0 else float("inf"),
                memory_mb_per_student=memory,
                memory_method=method,
            )
        )
    base = next((r for r in rows if r.executor == "sequential" and r.student == NATIVE), None)
    for row in rows:
        if base is not None:
            # median over rounds of the paired ratio: both runs of a round saw the same machine
            paired = [b / t for b, t in zip(base.seconds_all, row.seconds_all, strict=True) if t > 0]
            row.ratio_vs_sequential = statistics.median(paired) if paired else None
    return rows
