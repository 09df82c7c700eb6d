"""The `multiprocess` executor: one worker process per device, reused across episodes.

The N students of a job are split into contiguous chunks, one per worker; each worker trains
its chunk through the same `StudentTrainer.train_and_score` path as the in-process executors
(batched when the student can), so every executor gives the same students. Jobs travel as
`model_dump()` dicts over a pipe and only `StudentReport`s come back, never weights: students
of a cohort stay in their worker from round to round (the chunks do not change), and their
state crosses the pipe only for a checkpoint (`save_students` / `load_students`).

Failure handling: the parent waits on the workers' pipes *and* their process sentinels with
short timeouts, so a worker that raises, dies (even by SIGKILL) or hangs past `timeout` ends
the run in bounded time with a `PluginError` naming the worker and its device; every worker
is then stopped, and `close()` (also registered with atexit) kills and joins what is left.
"""

from __future__ import annotations

import atexit
import os
import signal
import time
import traceback
from multiprocessing.connection import Connection, wait
from typing import Any, NoReturn

from ilm_core import Executor, ExecutorContext, PluginError, StudentReport, StudentTrainer, TrainingJob

from .local import chunks

POLL_S = 0.25  # longest the parent blocks before it checks workers and the deadline again
STARTUP_GRACE_S = 120.0  # a worker may take this long (at least) to import torch and the plugins


def _span(ids: list[int]) -> str:
    if not ids:
        return "no students"
    return f"student {ids[0]}" if len(ids) == 1 else f"students {ids[0]}-{ids[-1]}"


def train_chunk(
    trainer: StudentTrainer, job: TrainingJob, device: str, ids: list[int], batched: bool
) -> list[StudentReport]:
    """A worker's share of an episode: one batched group, or its students one at a time."""
    if batched:
        return trainer.train_and_score(job, device, ids)
    reports = []
    for k, sid in enumerate(ids):
        reports += trainer.train_and_score(job.subset([k]), device, [sid])
    return reports


def worker_main(index: int, device: str, conn: Connection, threads: int | None) -> None:
    """Worker loop: build a StudentTrainer once, then train every chunk the parent sends."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it stops us
    try:
        import torch

        if threads is not None:
            torch.set_num_threads(threads)
        from ilm_core import default_registry

        trainer = StudentTrainer(default_registry())
        conn.send(("ready", os.getpid(), None))
    except BaseException as exc:  # report any start-up failure, then stop
        conn.send(("error", None, f"failed to start: {type(exc).__name__}: {exc}"))
        return
    while True:
        try:
            item = conn.recv()
        except (EOFError, OSError):
            return  # the parent went away
        if item is None:
            return
        job_id, kind, payload, ids, batched = item
        try:
            if kind == "save":  # the worker's students of a cohort, for a checkpoint
                conn.send(("result", job_id, trainer.save(payload)))
                continue
            if kind == "load":
                trainer.load(*payload)
                conn.send(("result", job_id, None))
                continue
            reports = train_chunk(trainer, TrainingJob.model_validate(payload), device, ids, batched)
            conn.send(("result", job_id, [r.model_dump() for r in reports]))
        except Exception as exc:
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            conn.send(("error", job_id, detail))


class _Worker:
    def __init__(self, index: int, device: str, process: Any, conn: Connection):
        self.index, self.device, self.process, self.conn = index, device, process, conn
        self.ready = False

    @property
    def name(self) -> str:
        return f"worker {self.index} ({self.device}, pid {self.process.pid})"


class MultiprocessExecutor(Executor):
    """Students spread over worker processes, one per device, batched inside each worker."""

    description = "multiprocess (not started)"

    def __init__(self, params: Any):
        self.params = params
        self.workers: list[_Worker] = []
        self._job_id = 0
        self._closed = False

    # -- lifecycle ---------------------------------------------------------------------------
    def prepare(self, context: ExecutorContext) -> None:
        import multiprocessing

        devices = list(self.params.devices)[: max(1, context.n_students)]
        self.batched = StudentTrainer(context.registry).supports(context.student, "batched")
        cpu_workers = sum(1 for d in devices if d.startswith("cpu"))
        mp = multiprocessing.get_context(self.params.start_method)
        atexit.register(self.close)
        try:
            for index, device in enumerate(devices):
                threads = 1 if device.startswith("cpu") and cpu_workers > 1 else None
                parent, child = mp.Pipe(duplex=True)
                process = mp.Process(
                    target=worker_main,
                    args=(index, device, child, threads),
                    name=f"ilm-worker-{index}",
                    daemon=True,
                )
                process.start()
                child.close()
                self.workers.append(_Worker(index, device, process, parent))
        except BaseException:
            self.close()
            raise
        sizes = [len(c) for c in chunks(context.n_students, len(devices))]
        each = f"{sizes[0]} students each" if len(set(sizes)) == 1 else "+".join(map(str, sizes)) + " students"
        mode = "batched" if self.batched else "one at a time"
        self.description = (
            f"multiprocess ({len(devices)} worker{'s' if len(devices) != 1 else ''}: "
            f"{', '.join(devices)}; {each}, {mode})"
        )
        if not self.batched:
            context.notify(
                f"student '{context.student.name}' does not support batched training; each multiprocess "
                "worker trains its students one at a time"
            )

    def close(self) -> None:
        """Stop every worker: ask politely, then terminate, then kill; always join."""
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self.close)
        for w in self.workers:
            try:
                w.conn.send(None)
            except (OSError, ValueError):
                pass
        deadline = time.monotonic() + 2.0
        for w in self.workers:
            w.process.join(timeout=max(0.0, deadline - time.monotonic()))
        for w in self.workers:
            if w.process.is_alive():
                w.process.terminate()
                w.process.join(timeout=2.0)
            if w.process.is_alive():
                w.process.kill()
                w.process.join(timeout=5.0)
            w.conn.close()

    # -- one episode -------------------------------------------------------------------------
    def run(self, job: TrainingJob) -> list[StudentReport]:
        batched = StudentTrainer(self.context.registry).supports(job.student, "batched")
        parts = chunks(len(job.seeds), len(self.workers))
        results = self._ask("train", [job.subset(ids).model_dump() for ids in parts], parts, batched)
        return [StudentReport.model_validate(r) for index in sorted(results) for r in results[index]]

    def save_students(self, cohort: str) -> dict[str, Any]:
        """Every worker's groups of the cohort (their keys are the students' ids, so they merge)."""
        parts = chunks(self.context.n_students, len(self.workers))
        results = self._ask("save", [cohort] * len(parts), parts, False)
        return {key: value for index in sorted(results) for key, value in results[index].items()}

    def load_students(self, cohort: str, state: dict[str, Any]) -> None:
        """Each worker gets back the groups of the students it trains."""
        parts = chunks(self.context.n_students, len(self.workers))
        mine = [{k: v for k, v in state.items() if int(k.split(",")[0]) in ids} for ids in parts]
        self._ask("load", [(cohort, m) for m in mine], parts, False)

    def _ask(self, kind: str, payloads: list[Any], parts: list[list[int]], batched: bool) -> dict[int, Any]:
        """Send one request per worker (students `parts[k]` to worker k) and wait for every answer."""
        if self._closed:
            raise PluginError("executor 'multiprocess' was already stopped", plugin="multiprocess", stage="run")
        self._await_ready()
        self._job_id += 1
        assigned: dict[int, list[int]] = {}
        for w, ids, payload in zip(self.workers, parts, payloads, strict=False):
            try:
                w.conn.send((self._job_id, kind, payload, ids, batched))
            except (OSError, ValueError) as exc:
                self._fail(w, ids, "could not receive its job", f"{type(exc).__name__}: {exc}; {self._exit_text(w)}")
            assigned[w.index] = ids
        results: dict[int, Any] = {}
        deadline = time.monotonic() + self.params.timeout
        while len(results) < len(assigned):
            pending = [w for w in self.workers if w.index in assigned and w.index not in results]
            self._collect(pending, assigned, results, deadline, job_id=self._job_id)
        return results

    def _await_ready(self) -> None:
        """Wait for start-up (once): imports run while the teacher pretrains, not per episode."""
        waiting = [w for w in self.workers if not w.ready]
        deadline = time.monotonic() + max(self.params.timeout, STARTUP_GRACE_S)
        while waiting:
            self._collect(waiting, {}, {}, deadline, job_id=None)
            waiting = [w for w in self.workers if not w.ready]

    def _collect(
        self,
        pending: list[_Worker],
        assigned: dict[int, list[int]],
        results: dict[int, Any],
        deadline: float,
        job_id: int | None,
    ) -> None:
        """Wait a short while for one message or death among `pending`; raise on any fault."""
        by_conn = {w.conn: w for w in pending}
        by_sentinel = {w.process.sentinel: w for w in pending}
        left = deadline - time.monotonic()
        if left <= 0:
            w = pending[0]
            limit = max(self.params.timeout, STARTUP_GRACE_S) if job_id is None else self.params.timeout
            what = "did not start" if job_id is None else "did not finish"
            self._fail(w, assigned.get(w.index, []), what, f"no answer within the timeout of {limit:g} s (hung?)")
        ready = wait([*by_conn, *by_sentinel], timeout=min(POLL_S, left))
        for obj in ready:
            if obj in by_conn:
                w = by_conn[obj]
                try:
                    kind, ref, payload = w.conn.recv()
                except (EOFError, OSError):
                    self._fail(w, assigned.get(w.index, []), "died", self._exit_text(w))
                if kind == "ready":
                    w.ready = True
                elif kind == "error":
                    self._fail(w, assigned.get(w.index, []), "raised", str(payload))
                elif kind == "result" and ref == job_id:
                    results[w.index] = payload
        for sentinel, w in by_sentinel.items():
            if sentinel in ready and w.index not in results and not w.conn.poll():
                self._fail(w, assigned.get(w.index, []), "died", self._exit_text(w))

    @staticmethod
    def _exit_text(w: _Worker) -> str:
        w.process.join(timeout=0.5)
        code = w.process.exitcode
        if code is None:
            return "its pipe closed but the process is still running"
        if code < 0:
            try:
                sig = signal.Signals(-code).name
            except ValueError:
                sig = f"signal {-code}"
            return f"exit code {code}, killed by {sig}"
        return f"exit code {code}"

    def _fail(self, w: _Worker, ids: list[int], what: str, detail: str) -> NoReturn:
        """Stop every worker (no orphans, no half-finished episode) and raise a PluginError."""
        training = f" while training {_span(ids)}" if ids else ""
        message = f"executor 'multiprocess': {w.name} {what}{training}: {detail}"
        self.close()
        raise PluginError(message, plugin="multiprocess", stage="run")
