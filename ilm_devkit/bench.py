"""`ilm bench`: the same N students trained by each executor, timed, from one command.

The environment, exam, students and executors are params, built through the registry by name;
`DEFAULTS` (data, documented below) names the reference plugins timed when the user names none.
One row per (executor, student): wall seconds of one episode's work (train and score N students),
student-updates per second, peak memory per student and the speed ratio against the baseline
executor with the first student.
"""

from __future__ import annotations

import gc
import random
import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

import psutil
from pydantic import BaseModel, ConfigDict, Field

from ilm_core import seeding
from ilm_core.errors import ConfigError, IlmError
from ilm_core.interfaces import ExecutorContext, set_up
from ilm_core.messages import ComponentRef, TrainingJob
from ilm_core.registry import Registry

#: replaced, in an executor's CUDA params, by every visible GPU ("cuda:0,cuda:1,...")
CUDA_DEVICES = "{cuda_devices}"


class BenchSetup(BaseModel):
    """What `ilm bench` times. Plain data: any installed plugins can be named instead."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    environment: str = Field(description="environment whose pool gives the random lessons and whose exam scores")
    exam: str = Field(description="exam that scores the trained students")
    executors: tuple[str, ...] = Field(description="executors timed, each with the first student")
    students: tuple[str, ...] = Field(
        description="the first is trained by every executor; the others by the baseline executor only"
    )
    baseline: str = Field(description="executor of the ratio column (with the first student)")
    sizes: dict[str, dict[str, Any]] = Field(description="--size choices: student params given to every student")
    size_params: dict[str, dict[str, dict[str, Any]]] = Field(
        default_factory=dict, description="size -> student -> params added for that student only"
    )
    executor_params: dict[str, dict[str, dict[str, Any]]] = Field(
        default_factory=dict, description="executor -> 'cpu' or 'cuda' -> its params (CUDA_DEVICES filled in)"
    )
    in_workers: tuple[str, ...] = Field(
        default=(), description="executors that train in worker processes (their CUDA memory is not seen here)"
    )


#: The reference setup: the paper's `domains` environment and perplexity exam, the native student
#: under every reference executor, fairseq's student (when installed) sequentially beside it.
#: size "cpu" keeps the native student's own defaults; "paper" is fairseq's transformer_lm.
DEFAULTS = BenchSetup(
    environment="domains",
    exam="perplexity",
    executors=("sequential", "batched", "multiprocess"),
    students=("transformer-lm", "fairseq-lm"),
    baseline="sequential",
    sizes={"cpu": {}, "paper": {"layers": 6, "dim": 512, "heads": 8, "ffn": 2048}},
    size_params={"paper": {"fairseq-lm": {"preset": "paper"}}},
    executor_params={"multiprocess": {"cpu": {"devices": "cpu,cpu"}, "cuda": {"devices": CUDA_DEVICES}}},
    in_workers=("multiprocess",),
)
SIZES = DEFAULTS.sizes
DEFAULT_EXECUTORS = DEFAULTS.executors


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


def make_job(
    registry: Registry,
    student: ComponentRef,
    n: int,
    seed: int,
    budget: int = 10,
    environment: str = DEFAULTS.environment,
    exam: str = DEFAULTS.exam,
) -> TrainingJob:
    """N random lessons of the environment's pool (seeded), scored like an episode."""
    data = registry.build("environment", environment, {}).build(seeding.derive(seed, "environment"))
    rng = random.Random(seed)
    lessons = [[list(data.pool[j]) for j in rng.sample(range(len(data.pool)), budget)] for _ in range(n)]
    exams = {"feedback": [list(s) for s in data.exam]}
    if data.heldout_exam:
        exams["heldout"] = [list(s) for s in data.heldout_exam]
    return TrainingJob(
        student=student,
        exam=ComponentRef(name=exam),
        vocab_size=len(data.vocabulary),
        lessons=lessons,
        seeds=[seeding.derive(seed, "student", 0, i) for i in range(n)],
        exams=exams,
    )


def executor_params(name: str, device: str, setup: BenchSetup = DEFAULTS) -> dict[str, Any]:
    """The executor's params from `setup` for this device kind, with CUDA_DEVICES filled in."""
    params = dict(setup.executor_params.get(name, {}).get("cuda" if device.startswith("cuda") else "cpu", {}))
    if CUDA_DEVICES in params.values():
        import torch

        gpus = ",".join(f"cuda:{i}" for i in range(torch.cuda.device_count())) or device
        params = {key: gpus if value == CUDA_DEVICES else value for key, value in params.items()}
    return params


class RssSampler:
    """Peak resident memory of this process and its children, sampled every few ms."""

    def __init__(self, interval: float = 0.005):
        self.interval, self.peak, self._stop = interval, 0, threading.Event()
        self.process = psutil.Process()

    def rss(self) -> int:
        total = 0
        for process in [self.process, *self.process.children(recursive=True)]:
            try:
                total += process.memory_info().rss
            except psutil.Error:  # a child that ended between listing and reading
                pass
        return total

    def __enter__(self) -> RssSampler:
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


def trim_heap() -> None:
    """Give freed heap pages back to the OS so an RSS delta sees a run's own allocations."""
    gc.collect()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


class TimedPair:
    """One (executor, student) pair: its prepared executor, its job and its timings so far."""

    def __init__(
        self,
        registry: Registry,
        executor: str,
        student: ComponentRef,
        job: TrainingJob,
        device: str,
        notify: Callable[[str], None],
        setup: BenchSetup = DEFAULTS,
    ):
        self.name, self.student, self.job, self.device = executor, student, job, device
        self.in_workers = executor in setup.in_workers
        self.ex = registry.build("executor", executor, executor_params(executor, device, setup))
        n = len(job.seeds)
        set_up(self.ex, ExecutorContext(registry=registry, student=student, n_students=n, device=device, notify=notify))
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
        trim_heap()
        if self.cuda:
            import torch

            torch.cuda.synchronize()
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
            base = torch.cuda.memory_allocated()
        sampler = RssSampler()
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
        if self.cuda and self.in_workers:
            return None, "n/a (in workers)"
        if self.ex.remote_workers:
            return None, "n/a (in remote workers)"
        if self.cuda:
            return self.cuda_peak / n / 2**20, "cuda max_memory_allocated / N"
        return self.rss_peak / n / 2**20, "peak RSS delta / N (sampled)"


def measure_interleaved(pairs: list[TimedPair], repeats: int, notify: Callable[[str], None]) -> None:
    """Warm every pair up once, then time them in rounds: A, B, C, A, B, C, ...

    Interleaving puts every executor under the same machine conditions in each round, so a
    shared machine's drift (other jobs starting or stopping) moves all rows alike and the
    per-round ratios stay meaningful.
    """
    for c in pairs:
        notify(f"warming up {c.name} with {c.student.name}")
        c.run_once(timed=False)
    for r in range(repeats):
        notify(f"round {r + 1}/{repeats}")
        for c in pairs:
            c.run_once(timed=True)


def plan_pairs(registry: Registry, setup: BenchSetup, notify: Callable[[str], None]) -> list[tuple[str, str]]:
    """(executor, student) pairs to time; unknown names fail here, before any training."""
    for name in setup.executors:
        registry.get("executor", name)
    registry.get("environment", setup.environment)
    registry.get("exam", setup.exam)
    first, *others = setup.students
    pairs = [(name, first) for name in setup.executors]
    if setup.baseline in setup.executors:
        pairs += [(setup.baseline, student) for student in others]
    runnable = []
    for executor, student in pairs:
        missing = registry.get("student", student).missing_requirements()
        if missing:
            notify(f"student '{student}' skipped: it needs {', '.join(missing)}")
        else:
            runnable.append((executor, student))
    return runnable


def run_bench(
    registry: Registry,
    students: int = 12,
    updates: int = 20,
    size: str = "cpu",
    device: str = "cpu",
    repeats: int = 5,
    seed: int = 6639,
    threads: int | None = None,
    notify: Callable[[str], None] = lambda message: None,
    setup: BenchSetup = DEFAULTS,
) -> list[BenchRow]:
    """Train the same students with every executor of `setup` (its other students with the baseline).

    `threads` sets torch's intra-op threads of this process (in-process executors); executors
    with worker processes choose their workers' threads themselves.
    """
    import torch

    if threads is not None:
        torch.set_num_threads(threads)
    if size not in setup.sizes:
        raise ConfigError(f"--size {size!r} is unknown; choose one of: {', '.join(setup.sizes)}")
    if not setup.students:
        raise ConfigError("--student names no student; name at least one installed student")
    plan = plan_pairs(registry, setup, notify)
    pairs: list[TimedPair] = []
    try:
        for executor, student_name in plan:
            student_params = {**setup.sizes[size], **setup.size_params.get(size, {}).get(student_name, {})}
            student = ComponentRef(name=student_name, params={**student_params, "updates": updates})
            try:
                registry.validate_params("student", student_name, student.params)
            except IlmError as exc:
                notify(f"student '{student_name}' skipped: {exc}")
                continue
            job = make_job(registry, student, students, seed, environment=setup.environment, exam=setup.exam)
            notify(f"preparing {executor} with {student_name} ({students} students, {updates} updates)")
            pairs.append(TimedPair(registry, executor, student, job, device, notify, setup))
        measure_interleaved(pairs, repeats, notify)
    finally:
        for c in pairs:
            c.ex.close()
    rows = []
    for c in pairs:
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
    base = next((r for r in rows if r.executor == setup.baseline and r.student == setup.students[0]), None)
    for row in rows:
        if base is not None:
            # median over rounds of the paired ratio: both runs of a round saw the same machine
            paired = [b / t for b, t in zip(base.seconds_all, row.seconds_all, strict=True) if t > 0]
            row.ratio_vs_sequential = statistics.median(paired) if paired else None
    return rows
