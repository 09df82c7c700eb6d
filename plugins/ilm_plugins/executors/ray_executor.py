"""The `ray` executor: an episode's students trained by Ray actors, one actor per student group.

Each actor (`StudentGroup`) holds the student and exam plugins, built once, and trains its
group of students every round through the same `StudentTrainer` path as every other executor
(batched when the student can), so its students equal `batched`'s. Students that persist
(a job's `cohort`: from round to round, or through the run) stay in their actor, which always
trains the same students; their state travels only for a checkpoint (`save_students` /
`load_students`). Ray places the actors by their resources: `num_cpus` each, and `num_gpus`
each when the groups go on GPUs (0.5 puts two groups on one GPU). Jobs travel as
`model_dump()` dicts and only `StudentReport`s come back, never weights.

Where Ray runs: a Ray already started in this process is used as it is; else `address`
(`auto` for the cluster of this machine, `ray://head:10001` for a remote one, or
`$RAY_ADDRESS`); else a local Ray is started, and shut down when the run ends.

Failure handling: the driver waits on the actors' results with short timeouts, so an actor
that raises, dies (even by SIGKILL, or with its node) or hangs past `timeout` ends the run in
bounded time with a `PluginError` naming the actor, where it ran, its students and its Ray
task; every actor is then killed. The finished episodes are on disk, and `--resume` starts
new actors.
"""

from __future__ import annotations

import math
import os
import socket
import time
from dataclasses import dataclass
from typing import Any, NoReturn

from ilm_core import (
    ConfigError,
    Executor,
    ExecutorContext,
    PluginError,
    StudentReport,
    StudentTrainer,
    TrainingJob,
    default_registry,
)

from .local import chunks
from .multiprocess import _span, train_chunk

POLL_S = 0.25  # longest the driver blocks before it checks the deadline again


class StudentGroup:
    """One Ray actor: builds the plugins once, then trains its group of students each episode."""

    def __init__(self, threads: int):
        import torch

        torch.set_num_threads(threads)
        self.trainer = StudentTrainer(default_registry())

    def where(self) -> dict[str, Any]:
        """Where this actor runs (for messages), once its plugins are loaded."""
        import ray

        context = ray.get_runtime_context()
        return {"node": context.get_node_id()[:12], "host": socket.gethostname(), "pid": os.getpid()}

    def train(self, payload: dict[str, Any], ids: list[int], device: str, batched: bool) -> list[dict[str, Any]]:
        reports = train_chunk(self.trainer, TrainingJob.model_validate(payload), device, ids, batched)
        return [r.model_dump() for r in reports]

    def save(self, cohort: str) -> dict[str, Any]:
        """The state of this actor's students of a cohort (for a checkpoint)."""
        return self.trainer.save(cohort)

    def load(self, cohort: str, state: dict[str, Any]) -> None:
        """Restore this actor's students of a cohort; they are remade when next trained."""
        self.trainer.load(cohort, state)


def address_silent(address: str, timeout: float = 5.0) -> str | None:
    """Why nothing answers at a Ray address ("host:port" or "ray://host:port"), or None when something
    does or the address names no host and port to try ('auto', 'local')."""
    rest = address.split("://", 1)[1] if "://" in address else address
    host, _, port = rest.rstrip("/").rpartition(":")
    if not host or not port.isdigit():
        return None
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            return None
    except OSError as exc:
        return f"nothing answers at {host}:{port} ({exc.strerror or type(exc).__name__}, waited at most {timeout:g} s)"


def connect(ray: Any, address: str | None, local_cpus: int | None, who: str, field: str) -> tuple[str, bool]:
    """Use the Ray of this process, else the cluster at `address` or $RAY_ADDRESS, else start a
    local Ray with `local_cpus` CPUs. Returns where it runs, in words, and whether it started here."""
    if ray.is_initialized():
        return "the Ray of this process", False
    address = address or os.environ.get("RAY_ADDRESS")
    silent = address_silent(address) if address else None
    if silent:  # before ray.init, which retries for many seconds and logs a dozen warnings
        raise ConfigError(
            f"{who} could not connect to the Ray cluster at {address!r}: {silent}. Check {field} or $RAY_ADDRESS "
            "(unset starts a local Ray; 'auto' joins the cluster of this machine; 'ray://HEAD:10001' a remote one) "
            "and that the cluster is running."
        )
    kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
    if address:
        kwargs["address"] = address
    else:
        kwargs["num_cpus"] = local_cpus
    try:
        ray.init(**kwargs)
    except Exception as exc:
        what = f"connect to the Ray cluster at {address!r}" if address else "start a local Ray"
        raise ConfigError(
            f"{who} could not {what}: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}. Check {field} "
            "or $RAY_ADDRESS (unset starts a local Ray; 'auto' joins the cluster of this machine; "
            "'ray://HEAD:10001' a remote one) and that the cluster runs the same Ray version."
        ) from None
    return (f"the Ray cluster at {address}" if address else "a local Ray"), True


@dataclass
class _Actor:
    index: int
    handle: Any
    ready: Any  # the ObjectRef of its `where()`, until it answered
    place: str = "not started yet"


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
        import ray

        p = self.params
        self.batched = StudentTrainer(context.registry).supports(context.student, "batched")
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
        where, self.owns_ray = connect(
            ray, self.params.address, self.params.local_cpus, "executor 'ray'", "executor.address"
        )
        return where

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

    # -- rounds and checkpoints --------------------------------------------------------------
    def run(self, job: TrainingJob) -> list[StudentReport]:
        batched = StudentTrainer(self.context.registry).supports(job.student, "batched")
        parts = chunks(len(job.seeds), len(self.actors))
        self._job += 1
        calls = []
        for actor, ids in zip(self.actors, parts, strict=False):
            name = f"ilm train {_span(ids)} (job {self._job})"
            args = (job.subset(ids).model_dump(), ids, self.device, batched)
            calls.append((actor.handle.train.options(name=name), args, f"training {_span(ids)} (Ray task '{name}')"))
        results = self._ask(calls)
        return [StudentReport.model_validate(r) for index in sorted(results) for r in results[index]]

    def save_students(self, cohort: str) -> dict[str, Any]:
        """Every actor's groups of the cohort (keyed by the students' ids, so they merge)."""
        parts = chunks(self.context.n_students, len(self.actors))
        what = [f"saving {_span(ids)} for a checkpoint" for ids in parts]
        results = self._ask([(a.handle.save, (cohort,), w) for a, w in zip(self.actors, what, strict=False)])
        return {key: value for index in sorted(results) for key, value in results[index].items()}

    def load_students(self, cohort: str, state: dict[str, Any]) -> None:
        """Each actor gets back the groups of the students it trains."""
        parts = chunks(self.context.n_students, len(self.actors))
        mine = [{k: v for k, v in state.items() if int(k.split(",")[0]) in ids} for ids in parts]
        what = [f"restoring {_span(ids)} from a checkpoint" for ids in parts]
        self._ask([(a.handle.load, (cohort, m), w) for a, m, w in zip(self.actors, mine, what, strict=False)])

    def _ask(self, calls: list[tuple[Any, tuple[Any, ...], str]]) -> dict[int, Any]:
        """Call one actor method per actor (`calls[k]` = method, args, what it does in words, for
        actor k); wait for every answer, or fail naming the actor and the task."""
        import ray

        if self._closed:
            raise PluginError("executor 'ray' was already stopped", plugin="ray", stage="run")
        self._await_ready(ray)
        pending = {
            method.remote(*args): (actor, what) for (method, args, what), actor in zip(calls, self.actors, strict=False)
        }
        results: dict[int, Any] = {}
        deadline = time.monotonic() + self.params.timeout
        while pending:
            left = deadline - time.monotonic()
            if left <= 0:
                actor, what = next(iter(pending.values()))
                limit = f"{self.params.timeout:g} s"
                self._fail(actor, what, "did not finish", f"no answer within the timeout of {limit} (hung?)")
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=min(POLL_S, left))
            for ref in ready:
                actor, what = pending.pop(ref)
                results[actor.index] = self._get(ray, ref, actor, what)
        return results

    def _get(self, ray: Any, ref: Any, actor: _Actor, what: str) -> Any:
        from ray.exceptions import RayActorError, RayError, RayTaskError

        try:
            return ray.get(ref)
        except RayTaskError as exc:  # the actor raised: report the plugin's own error
            cause = exc.cause if getattr(exc, "cause", None) is not None else exc
            self._fail(actor, what, "raised", f"{type(cause).__name__}: {cause}")
        except RayActorError as exc:  # the actor's process (or its node) is gone
            self._fail(actor, what, "died", f"{type(exc).__name__}: {_first_sentence(exc)}")
        except RayError as exc:  # its result was lost, or Ray itself failed
            self._fail(actor, what, "failed", f"{type(exc).__name__}: {_first_sentence(exc)}")

    def _await_ready(self, ray: Any) -> None:
        """Wait for the actors (once): placed, torch and the plugins imported, where they run."""
        waiting = [a for a in self.actors if a.ready is not None]
        deadline = time.monotonic() + self.params.start_timeout
        while waiting:
            left = deadline - time.monotonic()
            if left <= 0:
                self._fail(
                    waiting[0],
                    "",
                    "did not start",
                    f"not placed and started within {self.params.start_timeout:g} s; the cluster's free "
                    f"resources are {ray.available_resources()}",
                )
            ready, _ = ray.wait([a.ready for a in waiting], num_returns=1, timeout=min(POLL_S, left))
            for actor in waiting:
                if actor.ready in ready:
                    place = self._get(ray, actor.ready, actor, "")
                    actor.place, actor.ready = f"node {place['node']} on {place['host']}, pid {place['pid']}", None
            waiting = [a for a in waiting if a.ready is not None]

    def _fail(self, actor: _Actor, doing: str, what: str, detail: str) -> NoReturn:
        """Kill every actor (no orphans, no half-finished episode) and raise a PluginError."""
        task = f" while {doing}" if doing else ""
        message = f"executor 'ray': actor {actor.index} ({actor.place}) {what}{task}: {detail}"
        self.close()
        raise PluginError(message, plugin="ray", stage="run")


def _first_sentence(exc: BaseException) -> str:
    """Ray's actor errors run over many lines; their first sentence says what happened."""
    text = " ".join(str(exc).split())
    cut = text.find(". ")
    return text[: cut + 1] if 0 < cut < 400 else text[:400]
