"""Shared fixtures: a fresh registry of the installed plugins, and a tiny fast config."""

from __future__ import annotations

import copy
import os
import tempfile
from typing import Any

import pytest

from ilm_core.registry import Registry

# Tiny models: one thread per process is many times faster than two
# contending threads, and subprocesses (`ilm run` in kill tests, workers) inherit the setting.
os.environ.setdefault("OMP_NUM_THREADS", "1")
# The set-up cache (ilm_core/cache.py) of a test session lives in a fresh folder, never the user's.
os.environ.setdefault("ILM_CACHE_DIR", tempfile.mkdtemp(prefix="ilm-test-cache-"))


@pytest.fixture(autouse=True, scope="session")
def _single_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


#: settings that make a run take about a second on a CPU
TINY_ANY_TEACHER = [
    "--episodes", "3", "--students", "3", "--budget", "4",
    "--set", "student.updates=3", "--set", "student.dim=16", "--set", "student.ffn=32",
    "--set", "environment.pool_size=20", "--set", "environment.teacher_corpus_size=10",
    "--set", "environment.exam_bank_size=20", "--set", "environment.heldout_size=5",
    "--quiet",
]  # fmt: skip
#: the same for the default teacher (select-bin), whose own LM is made tiny too
TINY = [*TINY_ANY_TEACHER, "--set", "teacher.lm_updates=5", "--set", "teacher.lm_dim=16"]


#: the tiny domains language of in-process runs
TINY_DOMAINS: dict[str, Any] = {
    "name": "domains",
    "params": {"pool_size": 20, "teacher_corpus_size": 10, "exam_bank_size": 20, "heldout_size": 5},
}


def tiny_student(updates: int = 2) -> dict[str, Any]:
    """The tiny native Transformer student, `updates` training steps per lesson."""
    return {"name": "transformer-lm", "params": {"updates": updates, "dim": 16, "ffn": 32}}


def small_run(**changes: Any) -> dict[str, Any]:
    """The raw config of a tiny in-process run (tenths of a second an episode): 2 episodes of 2 tiny
    students, budget 3, on the tiny domains language; `changes` replace whole top-level fields."""
    base = {"episodes": 2, "n_students": 2, "budget": 3, "student": tiny_student(), "environment": TINY_DOMAINS}
    return copy.deepcopy({**base, **changes})


@pytest.fixture
def registry() -> Registry:
    return Registry.installed()


@pytest.fixture
def cli(capsys):
    """Run `ilm ARGS` in-process; return (exit code, stdout, stderr)."""
    from ilm_core.cli import main

    def invoke(*args: str) -> tuple[int, str, str]:
        code = 0
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


@pytest.fixture(scope="session")
def ray_local(tmp_path_factory):
    """One local Ray (2 CPUs, no dashboard) for every test that needs it; the `ray` executor
    uses the Ray of its process, so each test pays for its actors only.

    Its workers also have the test plugin `worker_faults` installed (an entry point on their
    PYTHONPATH, fixed when Ray starts), so a test can make an actor fail through a student
    plugin, as the tests of the multiprocess executor do."""
    ray = pytest.importorskip("ray")
    started = not ray.is_initialized()
    if started:
        import worker_faults

        site = tmp_path_factory.mktemp("ray-plugins")
        info = site / "ilm_test_worker_faults-0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ilm-test-worker-faults\nVersion: 0.1\n")
        (info / "entry_points.txt").write_text(f"[ilm]\nworker-faults = {worker_faults.__name__}\n")
        before = os.environ.get("PYTHONPATH")
        tests = os.path.dirname(os.path.abspath(worker_faults.__file__))
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(site), tests, before) if p)
        try:
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        finally:  # Ray's processes keep the path; the rest of the session does not see it
            if before is None:
                os.environ.pop("PYTHONPATH", None)
            else:
                os.environ["PYTHONPATH"] = before
    yield ray
    if started:
        ray.shutdown()
