"""Executors: where and in which groups the N students of an episode are trained."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ilm_core import ExecutorSpec, NoParams, PluginSpec, SweepBackendSpec, hookimpl


class BatchedParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_group: int | None = Field(
        None,
        ge=1,
        description="most students trained as one model; None = all, except with lanes=auto on a CPU: 6, so "
        "that the groups, and the numbers, do not depend on the number of threads",
    )
    lanes: int | Literal["auto"] = Field(
        "auto",
        description="groups trained at the same time, each on its own thread with an equal share of torch's "
        "threads; auto = on a CPU one lane per group up to one per torch thread, on a GPU 1",
    )

    @field_validator("lanes")
    @classmethod
    def _positive(cls, value: int | str) -> int | str:
        if isinstance(value, int) and value < 1:
            raise ValueError("lanes must be 'auto' or at least 1")
        return value


class MultiprocessParams(BaseModel):
    """Worker processes, one per device; `devices` also accepts "cuda:0,cuda:1" from `--set`."""

    model_config = ConfigDict(extra="forbid")

    devices: list[str] = Field(
        default_factory=lambda: ["cpu", "cpu"], min_length=1, description="one worker per entry, e.g. cuda:0,cuda:1"
    )
    timeout: float = Field(600.0, gt=0, description="seconds an episode may take before a worker counts as hung")
    start_method: Literal["spawn", "forkserver", "fork"] = Field(
        "spawn", description="multiprocessing start method (spawn is the only one safe with CUDA)"
    )

    @field_validator("devices", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list | tuple):
            value = [d.strip() if isinstance(d, str) else d for d in value]
            if any(d == "" for d in value):
                raise ValueError("empty device name; write devices as e.g. cpu,cpu or cuda:0,cuda:1")
        return value


class RayParams(BaseModel):
    """Where Ray runs and what each student group (one actor) asks of it."""

    model_config = ConfigDict(extra="forbid")

    address: str | None = Field(
        None,
        description="the Ray cluster: None = a Ray already started in this process, else $RAY_ADDRESS, else a new "
        "local Ray; 'auto' = the cluster running on this machine; 'ray://HEAD:10001' = a remote cluster",
    )
    local_cpus: int | None = Field(None, ge=1, description="CPUs of a local Ray started here (None: every CPU)")
    group_size: int = Field(6, ge=1, description="students per actor, trained as one batched model")
    num_cpus: float = Field(1.0, gt=0, description="CPUs each actor holds (also its torch threads, at least 1)")
    num_gpus: float = Field(
        0.0, ge=0, description="GPUs each actor holds; above 0 its students train on its GPU (0.5: two groups per GPU)"
    )
    timeout: float = Field(600.0, gt=0, description="seconds an episode may take before an actor counts as hung")
    start_timeout: float = Field(300.0, gt=0, description="seconds for the actors to be placed and started")


class RaySweepParams(BaseModel):
    """Where the sweep's runs go and what each asks of Ray."""

    model_config = ConfigDict(extra="forbid")

    address: str | None = Field(
        None, description="the Ray cluster: None = a Ray started in this process, else $RAY_ADDRESS, else a local Ray"
    )
    cpus_per_run: float = Field(1.0, gt=0, description="CPUs each run holds (also its torch threads, at least 1)")
    retries: int = Field(2, ge=0, description="times Ray reruns a run whose worker died (the run resumes)")


@hookimpl
def ilm_backends() -> Iterator[PluginSpec]:  # SweepBackendSpec is made at run time: not a type to mypy
    yield SweepBackendSpec(
        name="ray",
        summary="ilm sweep --backend ray: each run a Ray task, on a local Ray or a cluster",
        factory="ilm_plugins.executors.ray_sweep:RaySweep",
        params=RaySweepParams,
        requires=("ray",),
        install_hint="pip install -e '.[ray]'",
    )


@hookimpl
def ilm_executors() -> Iterator[PluginSpec]:  # ExecutorSpec is made at run time: not a type to mypy
    yield ExecutorSpec(
        name="sequential",
        summary="trains the students one after another in this process",
        factory="ilm_plugins.executors.local:SequentialExecutor",
        params=NoParams,
    )
    yield ExecutorSpec(
        name="batched",
        summary="trains the N students as one model with a leading student axis (falls back to sequential)",
        factory="ilm_plugins.executors.local:BatchedExecutor",
        params=BatchedParams,
        roadmap=("student.training.several-at-once",),
    )
    yield ExecutorSpec(
        name="auto",
        summary="picks batched on one device, multiprocess over all visible GPUs when there are several",
        factory="ilm_plugins.executors.local:AutoExecutor",
        params=NoParams,
    )
    yield ExecutorSpec(
        name="multiprocess",
        summary="spreads the students over worker processes, one per device, batched inside each worker",
        factory="ilm_plugins.executors.multiprocess:MultiprocessExecutor",
        params=MultiprocessParams,
        roadmap=("student.training.several-at-once",),
    )
    yield ExecutorSpec(
        name="ray",
        summary="trains the students as Ray actors, one per group, on a local Ray or a cluster (CPUs or GPUs)",
        factory="ilm_plugins.executors.ray_executor:RayExecutor",
        params=RayParams,
        roadmap=("student.training.several-at-once",),
        requires=("ray",),
        install_hint="pip install -e '.[ray]'",
    )
