"""The `ray` sweep backend: `ilm sweep --backend ray` runs each run of a sweep as a Ray task.

Each run is one task holding `cpus_per_run` CPUs (its torch threads), so Ray runs as many at
once as the cluster has room for; `--jobs N` caps them at N. Every run writes its own run
directory, as `ilm run` does (atomic files, checkpoints); with several machines the sweep's
folder must be on a filesystem that every node sees. Finished runs are reused and partial ones
resumed, so an interrupted sweep continues where it stopped, and a run whose worker died is
tried again by Ray (resuming from its last checkpoint) before the sweep reports it.

Where Ray runs: as for the `ray` executor, a Ray already started in this process, else
`$RAY_ADDRESS` (`auto`, `ray://HEAD:10001`), else a local Ray with room for `--jobs` runs
(every CPU when `--jobs` is 1), stopped when the sweep ends.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from ilm_core import IlmError, RunOptions, RunResult, RunSpec, SweepBackend, run_in_worker

from .ray_executor import connect


def _run(spec: RunSpec, cache: bool, threads: int) -> tuple[RunResult | None, str | None]:
    """One run in a Ray worker: (result, None), or (None, a one-paragraph error naming the run)."""
    import torch

    torch.set_num_threads(threads)
    return run_in_worker(spec, cache)


class RaySweep(SweepBackend):
    """Each run of the sweep as a Ray task, as many at once as the cluster places (or `--jobs`)."""

    def __init__(self, params: Any):
        self.params = params

    def run(self, specs: Sequence[RunSpec], options: RunOptions) -> Iterator[RunResult]:
        import ray

        owns = self._connect(ray, options.jobs)
        cpus = self.params.cpus_per_run
        task = ray.remote(_run).options(num_cpus=cpus, max_retries=self.params.retries)
        limit = options.jobs if options.jobs > 1 else len(specs)
        queue = [RunSpec(s.raw, s.out.resolve(), s.label) for s in specs]  # workers may run elsewhere
        pending: dict[Any, RunSpec] = {}
        failure: str | None = None
        try:
            while queue or pending:
                while queue and failure is None and len(pending) < limit:
                    spec = queue.pop(0)
                    pending[task.remote(spec, options.cache, max(1, int(cpus)))] = spec
                    options.started(spec)
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    spec = pending.pop(ref)
                    result, error = self._get(ray, ref, spec)
                    if error is not None:
                        failure = failure or error  # the runs already started finish; no new one starts
                        continue
                    assert result is not None  # run_in_worker gives (result, None) or (None, error)
                    for message in result.notices:
                        options.notify(f"{result.spec.label}: {message}")
                    yield result
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)
            if owns:
                ray.shutdown()
        if failure is not None:
            raise IlmError(failure)

    @staticmethod
    def _get(ray: Any, ref: Any, spec: RunSpec) -> tuple[RunResult | None, str | None]:
        from ray.exceptions import RayError

        try:
            outcome: tuple[RunResult | None, str | None] = ray.get(ref)
            return outcome
        except RayError as exc:  # its worker died (after Ray's retries), or Ray itself failed
            detail = " ".join(str(exc).split())[:300]
            return None, (
                f"run {spec.label} ({spec.out}) failed in Ray: {type(exc).__name__}: {detail}. Its finished "
                "episodes are on disk; run the same sweep again to resume it."
            )

    def _connect(self, ray: Any, jobs: int) -> bool:
        """The Ray of this process, $RAY_ADDRESS, or a local Ray with room for `jobs` runs."""
        local = jobs * self.params.cpus_per_run if jobs > 1 else None
        address = self.params.address
        return connect(ray, address, local, "ilm sweep --backend ray", "$RAY_ADDRESS")[1]
