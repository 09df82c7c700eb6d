"""Executors: where and in which groups the N students of an episode are trained."""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import BaseModel, ConfigDict, Field

from ilm_core import ExecutorSpec, NoParams, hookimpl


class BatchedParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_group: int | None = Field(None, ge=1, description="most students trained as one model (None = all)")


@hookimpl
def ilm_executors() -> Iterator[ExecutorSpec]:
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
