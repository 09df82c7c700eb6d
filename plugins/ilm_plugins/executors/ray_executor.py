"""The `ray` executor: an episode's students trained by Ray actors, one actor per student group.

Each actor (`StudentGroup`) holds the student and exam plugins, built once, and trains its
group of students every episode through the same `Workbench` path as every other executor
(batched when the student can), so its students equal `batched`'s. Ray places the actors by
their resources: `num_cpus` each, and `num_gpus` each when the groups go on GPUs (0.5 puts
two groups on one GPU). Jobs travel as `model_dump()` dicts and only `StudentReport`s come
back, never weights.

Where Ray runs: a Ray already started in this process is used as it is; else `address`
(`auto` for the cluster of this machine, `ray://head:10001` for a remote one, or
`$RAY_ADDRESS`); else a local Ray is started, and shut down when the run ends.

Failure handling: the driver waits on the actors' results with short timeouts, so an actor
that raises, dies (even by SIGKILL, or with its node) or hangs past `timeout` ends the run in
bounded time with a `PluginError` naming the actor, where it ran, its students and its Ray
task; every actor is then killed. The finished episodes are on disk, and `--resume` starts
new actors.

Test hook: ``ILM_TEST_WORKER_FAULT`` = ``MODE[:ACTOR][@JOB]`` (MODE raise, exit, kill or hang)
makes actor ACTOR (default: every actor) fail that way in the JOB-th episode this executor
runs (default: the first). It is read by the driver and handed to the actor with its job.
"""

from __future__ import annotations

import math
import os
import socket
import time
from dataclasses import dataclass
from typing import Any, NoReturn

from ilm_core import ConfigError, Executor, ExecutorContext, PluginError, StudentReport, TrainingJob
from ilm_core.training import Workbench

from .local import chunks
from .multiprocess import FAULT_ENV, _span, inject_fault, train_chunk

POLL_S = 0.25  # longest the driver blocks before it checks the deadline again


class StudentGroup:
    """One Ray actor: builds the plugins once, then trains its group of students each episode."""

    def __init__(self, threads: int):
        import torch

        torch.set_num_threads(threads)
        from ilm_core.registry import default_registry

        self.bench = Workbench(default_registry())

    def where(self) -> dict[str, Any]:
        """Where this actor runs (for messages), once its plugins are loaded."""
        import ray

        context = ray.get_runtime_context()
        return {"node": context.get_node_id()[:12], "host": socket.gethostname(), "pid": os.getpid()}

    def train(self, payload: dict[str, Any], ids: list[int], device: str, batched: bool, fault: str | None) -> list:
        if fault:
            inject_fault(fault)
        reports = train_chunk(self.bench, TrainingJob.model_validate(payload), device, ids, batched)
        return [r.model_dump() for r in reports]


@dataclass
class _Actor:
    index: int
    handle: Any
    ready: Any  # the ObjectRef of its `where()`, until it answered
    place: str = "not started yet"


def test_fault(index: int, job: int) -> str | None:
    """The mode of the documented test hook for this actor and job, if any (module docstring)."""
    value = os.environ.get(FAULT_ENV, "")
    if not value:
        return None
    target, _, at = value.partition("@")
    mode, _, actor = target.partition(":")
    if (actor and int(actor) != index) or int(at or 1) != job:
        return None
    return mode


class RayExecutor(Executor):
    """Students spread over Ray actors, one per group, placed by Ray's resources."""

    description = "ray (not started)"
    remote_workers = True

    def __init__(self, params: Any):
        self.params = params
        self.actors: list[_Actor] = []
        self.owns_ray = False
        self._job = 0
        self._closed = False

    # -- lifecycle ---------------------------------------------------------------------------
    def prepare(self, context: ExecutorContext) -> None:
        super().prepare(context)
        import ray

        p = self.params
        self.batched = Workbench(context.registry).supports(context.student, "batched")
        self.device = "cuda" if p.num_gpus > 0 else "cpu"
        if context.device.startswith("cuda") and p.num_gpus == 0:
            context.notify(
                "executor 'ray' trains on the actors' CPUs (num_gpus = 0); set executor.num_gpus (e.g. 1, or 0.5 "
                "for two student groups per GPU) to place the students on GPUs"
            )
        where = self._connect(ray)
        groups = chunks(context.n_students, math.ceil(context.n_students / p.group_size))
        self._check_resources(ray, len(groups))
        remote = ray.remote(StudentGroup).options(num_cpus=p.num_cpus, num_gpus=p.num_gpus, max_restarts=0)
        threads = max(1, int(p.num_cpus))
        try:
            for index in range(len(groups)):
                handle = remote.remote(threads)
                self.actors.append(_Actor(index, handle, handle.where.remote()))
        except BaseException:
            self.close()
            raise
        sizes = [len(g) for g in groups]
        each = f"{sizes[0]} students each" if len(set(sizes)) == 1 else "+".join(map(str, sizes)) + " students"
        on = f"{p.num_gpus:g} GPU" if p.num_gpus else f"{p.num_cpus:g} CPU"
        mode = "batched" if self.batched else "one at a time"
        self.description = (
            f"ray ({len(groups)} actor{'s' if len(groups) != 1 else ''} on {where}: {each}, {mode}, {on} each)"
        )

    def _connect(self, ray: Any) -> str:
        """Use the Ray of this process, or connect to `address`, or start a local Ray."""
        if ray.is_initialized():
            return "the Ray of this process"
        address = self.params.address or os.environ.get("RAY_ADDRESS")
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
        if address:
            kwargs["address"] = address
        else:
            kwargs["num_cpus"] = self.params.local_cpus
        try:
            ray.init(**kwargs)
        except Exception as exc:
            what = f"connect to the Ray cluster at {address!r}" if address else "start a local Ray"
            raise ConfigError(
                f"executor 'ray' could not {what}: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}. "
                "Check executor.address (None starts a local Ray; 'auto' joins the cluster of this machine; "
                "'ray://HEAD:10001' a remote one) and that the cluster runs the same Ray version."
            ) from None
        self.owns_ray = True
        return f"the Ray cluster at {address}" if address else "a local Ray"

    def _check_resources(self, ray: Any, n_actors: int) -> None:
        """Refuse, before anything starts, actors that the cluster can never place."""
        total = ray.cluster_resources()
        for field, key in (("num_cpus", "CPU"), ("num_gpus", "GPU")):
            each = getattr(self.params, field)
            need, have = each * n_actors, total.get(key, 0.0)
            if need > have + 1e-9:
                self.close()
                raise ConfigError(
                    f"executor.{field} = {each:g} for each of {n_actors} student groups (group_size = "
                    f"{self.params.group_size}) needs {need:g} {key}s, but the Ray cluster has {have:g}. "
                    f"Lower executor.{field}, raise executor.group_size, or add nodes to the cluster."
                )

    def close(self) -> None:
        """Kill every actor, and stop the local Ray this executor started (a cluster stays up)."""
        if self._closed:
            return
        self._closed = True
        try:
            import ray
        except ImportError:
            return
        for actor in self.actors:
            try:
                ray.kill(actor.handle, no_restart=True)
            except Exception:
                pass  # already dead
        if self.owns_ray:
            ray.shutdown()

    # -- one episode -------------------------------------------------------------------------
    def run(self, job: TrainingJob) -> list[StudentReport]:
        import ray

        if self._closed:
            raise PluginError("executor 'ray' was already stopped", plugin="ray", stage="run")
        self._await_ready(ray)
        self._job += 1
        batched = Workbench(self.context.registry).supports(job.student, "batched")
        pending: dict[Any, tuple[_Actor, list[int]]] = {}
        for actor, ids in zip(self.actors, chunks(len(job.seeds), len(self.actors)), strict=False):
            task = actor.handle.train.options(name=self._task_name(ids))
            ref = task.remote(
                job.subset(ids).model_dump(), ids, self.device, batched, test_fault(actor.index, self._job)
            )
            pending[ref] = (actor, ids)
        results: dict[int, list[StudentReport]] = {}
        deadline = time.monotonic() + self.params.timeout
        while pending:
            left = deadline - time.monotonic()
            if left <= 0:
                actor, ids = next(iter(pending.values()))
                self._fail(
                    actor, ids, "did not finish", f"no answer within the timeout of {self.params.timeout:g} s (hung?)"
                )
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=min(POLL_S, left))
            for ref in ready:
                actor, ids = pending.pop(ref)
                results[actor.index] = [StudentReport.model_validate(r) for r in self._get(ray, ref, actor, ids)]
        return [r for index in sorted(results) for r in results[index]]

    def _task_name(self, ids: list[int]) -> str:
        return f"ilm train {_span(ids)} (episode job {self._job})"

    def _get(self, ray: Any, ref: Any, actor: _Actor, ids: list[int]) -> list[dict[str, Any]]:
        from ray.exceptions import RayActorError, RayError, RayTaskError

        try:
            return ray.get(ref)
        except RayTaskError as exc:  # the actor raised: report the plugin's own error
            cause = exc.cause if getattr(exc, "cause", None) is not None else exc
            self._fail(actor, ids, "raised", f"{type(cause).__name__}: {cause}")
        except RayActorError as exc:  # the actor's process (or its node) is gone
            self._fail(actor, ids, "died", f"{type(exc).__name__}: {_first_sentence(exc)}")
        except RayError as exc:  # its result was lost, or Ray itself failed
            self._fail(actor, ids, "failed", f"{type(exc).__name__}: {_first_sentence(exc)}")

    def _await_ready(self, ray: Any) -> None:
        """Wait for the actors (once): placed, torch and the plugins imported, where they run."""
        waiting = [a for a in self.actors if a.ready is not None]
        deadline = time.monotonic() + self.params.start_timeout
        while waiting:
            left = deadline - time.monotonic()
            if left <= 0:
                self._fail(
                    waiting[0],
                    [],
                    "did not start",
                    f"not placed and started within {self.params.start_timeout:g} s; the cluster's free "
                    f"resources are {ray.available_resources()}",
                )
            ready, _ = ray.wait([a.ready for a in waiting], num_returns=1, timeout=min(POLL_S, left))
            for actor in waiting:
                if actor.ready in ready:
                    place = self._get(ray, actor.ready, actor, [])
                    actor.place, actor.ready = f"node {place['node']} on {place['host']}, pid {place['pid']}", None
            waiting = [a for a in waiting if a.ready is not None]

    def _fail(self, actor: _Actor, ids: list[int], what: str, detail: str) -> NoReturn:
        """Kill every actor (no orphans, no half-finished episode) and raise a PluginError."""
        training = f" while training {_span(ids)} (Ray task '{self._task_name(ids)}')" if ids else ""
        message = f"executor 'ray': actor {actor.index} ({actor.place}) {what}{training}: {detail}"
        self.close()
        raise PluginError(message, plugin="ray", stage="run")


def _first_sentence(exc: BaseException) -> str:
    """Ray's actor errors run over many lines; their first sentence says what happened."""
    text = " ".join(str(exc).split())
    cut = text.find(". ")
    return text[: cut + 1] if 0 < cut < 400 else text[:400]
