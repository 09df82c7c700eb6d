"""Executors: sequential, batched and multiprocess give the same students; faults end runs cleanly."""

from __future__ import annotations

import json
import math
import os
import random
import signal
import time
from collections.abc import Iterator
from typing import ClassVar

import pytest

from ilm_core import (
    ComponentRef,
    ExecutorContext,
    NoParams,
    PluginError,
    Student,
    StudentSpec,
    TrainingJob,
    hookimpl,
    set_up,
)
from ilm_core.registry import Registry
from ilm_plugins.executors import MultiprocessParams
from ilm_plugins.executors.multiprocess import chunks

TINY_STUDENT = {"dim": 16, "ffn": 32, "heads": 2, "updates": 20, "dropout": 0.0}
V = 12


@pytest.fixture(autouse=True)
def one_torch_thread() -> Iterator[None]:
    """In-process training on one thread: tiny models run fastest and steadiest on one thread."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def make_job(n: int = 5, updates: int = 20, seed: int = 0) -> TrainingJob:
    rng = random.Random(seed)
    lessons = [[[rng.randrange(V) for _ in range(rng.randint(3, 8))] for _ in range(4)] for _ in range(n)]
    return TrainingJob(
        student=ComponentRef(name="transformer-lm", params={**TINY_STUDENT, "updates": updates}),
        exam=ComponentRef(name="perplexity"),
        vocab_size=V,
        lessons=lessons,
        seeds=[1000 + i for i in range(n)],
        exams={
            "feedback": [[rng.randrange(V) for _ in range(6)] for _ in range(4)],
            "heldout": [[rng.randrange(V) for _ in range(5)] for _ in range(3)],
        },
    )


def faulty_job(n: int, mode: str, student: int) -> TrainingJob:
    """`make_job(n, updates=2)` trained by the `faulty-lm` test student, which fails (`mode`) while
    training student number `student`."""
    job = make_job(n=n, updates=2)
    faulty = {**job.student.params, "mode": mode, "fail_seed": job.seeds[student]}
    return job.model_copy(update={"student": ComponentRef(name="faulty-lm", params=faulty)})


def build(registry: Registry, name: str, params: dict, job: TrainingJob, notices: list[str] | None = None):
    executor = registry.build("executor", name, params)
    set_up(
        executor,
        ExecutorContext(
            registry=registry,
            student=job.student,
            n_students=len(job.seeds),
            device="cpu",
            notify=(notices.append if notices is not None else lambda m: None),
        ),
    )
    return executor


def summary(reports) -> list[tuple[int, float, float, float]]:
    return [(r.student, r.final_loss, r.exams["feedback"].perplexity, r.exams["heldout"].perplexity) for r in reports]


def assert_same(a, b) -> None:
    assert [x[0] for x in a] == [x[0] for x in b]
    for x, y in zip(a, b, strict=True):
        for u, v in zip(x[1:], y[1:], strict=True):
            assert math.isclose(u, v, rel_tol=1e-4), (x, y)


def assert_all_stopped(executor) -> None:
    assert executor.workers, "the executor started no workers"
    for w in executor.workers:
        assert not w.process.is_alive(), f"worker {w.index} (pid {w.process.pid}) still alive"
        assert w.process.exitcode is not None


# -- correctness ---------------------------------------------------------------------------------


def test_chunks_are_contiguous_and_uneven() -> None:
    assert chunks(5, 2) == [[0, 1, 2], [3, 4]]
    assert chunks(2, 4) == [[0], [1]]
    assert chunks(12, 2) == [list(range(6)), list(range(6, 12))]


def test_devices_accept_a_comma_string() -> None:
    assert MultiprocessParams.model_validate({"devices": "cuda:0, cuda:1"}).devices == ["cuda:0", "cuda:1"]
    assert MultiprocessParams().devices == ["cpu", "cpu"]
    with pytest.raises(ValueError):
        MultiprocessParams.model_validate({"devices": "cpu,,cpu"})


@pytest.mark.slow
def test_sequential_batched_and_multiprocess_train_the_same_students(registry: Registry) -> None:
    job = make_job(n=5)
    results, descriptions = {}, {}
    for name, params in [("sequential", {}), ("batched", {}), ("multiprocess", {"devices": "cpu,cpu"})]:
        executor = build(registry, name, params, job)
        try:
            results[name] = summary(executor.run(job))
            if name == "multiprocess":  # workers are reused: a second episode gives the same students
                assert_same(summary(executor.run(job)), results[name])
            descriptions[name] = executor.description
        finally:
            executor.close()
        if name == "multiprocess":
            assert_all_stopped(executor)
    assert_same(results["batched"], results["sequential"])
    assert_same(results["multiprocess"], results["sequential"])
    assert all(math.isfinite(x[1]) for x in results["sequential"])
    assert descriptions["multiprocess"] == "multiprocess (2 workers: cpu, cpu; 3+2 students, batched)"
    assert "5 students as one model" in descriptions["batched"]


# -- batched fallback ----------------------------------------------------------------------------


class _OneAtATimePlugin:
    """The native student without the "batched" capability, recording the group sizes it sees."""

    groups: ClassVar[list[int]] = []

    @staticmethod
    def factory(params: NoParams):
        from ilm_plugins.students import TransformerLMParams
        from ilm_plugins.students.transformer_lm import TransformerLMStudent

        inner = TransformerLMStudent(TransformerLMParams(**TINY_STUDENT))

        class OneAtATime(Student):
            def train(self, lessons, seeds, vocab_size, device):
                _OneAtATimePlugin.groups.append(len(lessons))
                return inner.train(lessons, seeds, vocab_size, device)

        return OneAtATime()

    @hookimpl
    def ilm_students(self) -> Iterator[StudentSpec]:
        yield StudentSpec(name="one-at-a-time", summary="test student", factory=self.factory)


def test_batched_falls_back_to_one_at_a_time_with_a_notice(registry: Registry) -> None:
    registry.register(_OneAtATimePlugin(), name="one-at-a-time-test")
    job = make_job(n=3).model_copy(update={"student": ComponentRef(name="one-at-a-time")})
    notices: list[str] = []
    _OneAtATimePlugin.groups = []
    executor = build(registry, "batched", {}, job, notices)
    reports = executor.run(job)
    assert [r.student for r in reports] == [0, 1, 2]
    assert _OneAtATimePlugin.groups == [1, 1, 1]
    assert any("does not support batched training" in n and "one-at-a-time" in n for n in notices), notices
    assert "one at a time" in executor.description


class _ToldOneAtATimePlugin(_OneAtATimePlugin):
    """The same student declaring "uses-feedback": it should be told things, but cannot be made before training."""

    @hookimpl
    def ilm_students(self) -> Iterator[StudentSpec]:
        yield StudentSpec(
            name="told-one-at-a-time", summary="test student", factory=self.factory, capabilities={"uses-feedback"}
        )


def test_a_student_that_cannot_persist_reports_its_losses_after_its_lesson_only(registry: Registry) -> None:
    from ilm_core.training import StudentTrainer

    registry.register(_OneAtATimePlugin(), name="one-at-a-time-test")
    job = make_job(n=2).model_copy(update={"student": ComponentRef(name="one-at-a-time"), "sentence_losses": True})
    _OneAtATimePlugin.groups = []
    reports = StudentTrainer(registry).train_and_score(job, "cpu")
    assert _OneAtATimePlugin.groups == [2]  # trained through train(), as without sentence losses
    for report, lesson in zip(reports, job.lessons, strict=True):
        assert len(report.sentence_losses) == len(lesson)
        assert all(s.before is None and math.isfinite(s.after) for s in report.sentence_losses)
    # a student that must be told something before it trains cannot skip create(): refused, by name
    registry.register(_ToldOneAtATimePlugin(), name="told-one-at-a-time-test")
    told = job.model_copy(update={"student": ComponentRef(name="told-one-at-a-time"), "lesson_teachers": ["a", "b"]})
    with pytest.raises(PluginError, match="told-one-at-a-time") as caught:
        StudentTrainer(registry).train_and_score(told, "cpu")
    assert "cannot persist" in str(caught.value)


# -- lanes: groups trained at the same time on threads ------------------------------------------


def test_batched_lanes_train_the_same_students_and_leave_the_main_thread_alone(registry: Registry) -> None:
    import threading

    import torch

    job = make_job(n=5)
    reference = summary(build(registry, "sequential", {}, job).run(job))
    executor = build(registry, "batched", {"lanes": 2}, job)
    try:
        seen: set[str] = set()
        original = executor.trainer.train_and_score

        def spy(*args, **kwargs):
            seen.add(threading.current_thread().name)
            assert torch.get_num_threads() == executor.threads
            return original(*args, **kwargs)

        executor.trainer.train_and_score = spy
        assert_same(summary(executor.run(job)), reference)
        assert_same(summary(executor.run(job)), reference)  # the lanes are reused across episodes
    finally:
        executor.close()
    assert executor.groups(5) == [[0, 1, 2], [3, 4]]
    assert len(seen) == 2 and all(name.startswith("ilm-lane") for name in seen), seen
    assert "5 students as 2 models of 3/2, 2 at a time" in executor.description
    assert torch.get_num_threads() == 1  # the fixture's setting: lanes set threads only on their own threads


@pytest.mark.parametrize(
    ("params", "n", "threads", "groups"),
    [
        ({}, 12, 2, [6, 6]),  # auto on a 2-thread CPU: two lanes of six, one thread each
        ({}, 12, 1, [6, 6]),  # one thread: the same groups, one after the other (same numbers)
        ({}, 12, 4, [6, 6]),  # more threads: still the same groups
        ({}, 5, 4, [5]),  # auto: groups of at most six
        ({"lanes": 3, "max_group": 2}, 7, 3, [2, 2, 2, 1]),  # max_group still caps every group
        ({"max_group": 5}, 12, 1, [4, 4, 4]),
    ],
)
def test_batched_groups_follow_lanes_and_max_group(registry: Registry, params, n, threads, groups) -> None:
    import torch

    torch.set_num_threads(threads)  # the autouse fixture restores the setting afterwards
    executor = build(registry, "batched", params, make_job(n=n, updates=1))
    try:
        assert [len(g) for g in executor.groups(n)] == groups
        assert sorted(i for g in executor.groups(n) for i in g) == list(range(n))
    finally:
        executor.close()


def test_auto_batched_gives_the_same_numbers_with_one_thread_or_two(registry: Registry) -> None:
    """The CPU groups depend on the students only, so OMP_NUM_THREADS does not change a run."""
    import torch

    job = make_job(n=12, updates=5)
    results = []
    for threads in (1, 2):
        torch.set_num_threads(threads)  # the autouse fixture restores the setting afterwards
        executor = build(registry, "batched", {}, job)
        try:
            assert executor.lanes == threads
            results.append(summary(executor.run(job)))
        finally:
            executor.close()
    assert results[0] == results[1]  # bit for bit, not within a tolerance


def test_lanes_need_a_concurrent_student(registry: Registry) -> None:
    class BatchedOnly(_OneAtATimePlugin):
        @hookimpl
        def ilm_students(self) -> Iterator[StudentSpec]:
            yield StudentSpec(
                name="batched-only", summary="test", factory=self.factory, capabilities=frozenset({"batched"})
            )

    registry.register(BatchedOnly(), name="batched-only-test")
    job = make_job(n=4, updates=2).model_copy(update={"student": ComponentRef(name="batched-only")})
    notices: list[str] = []
    _OneAtATimePlugin.groups = []
    executor = build(registry, "batched", {"lanes": 2}, job, notices)
    try:
        assert [r.student for r in executor.run(job)] == [0, 1, 2, 3]
    finally:
        executor.close()
    assert executor.lanes == 1 and _OneAtATimePlugin.groups == [4]
    assert any("'concurrent' capability" in n and "batched-only" in n for n in notices), notices


def test_a_student_failing_in_a_lane_is_named(registry: Registry) -> None:
    class Failing:
        @staticmethod
        def factory(params: NoParams):
            class Raising(Student):
                def train(self, lessons, seeds, vocab_size, device):
                    raise RuntimeError("boom in a lane")

            return Raising()

        @hookimpl
        def ilm_students(self) -> Iterator[StudentSpec]:
            yield StudentSpec(
                name="failing", summary="test", factory=self.factory, capabilities=frozenset({"batched", "concurrent"})
            )

    registry.register(Failing(), name="failing-test")
    job = make_job(n=4, updates=1).model_copy(update={"student": ComponentRef(name="failing")})
    executor = build(registry, "batched", {"lanes": 2}, job)
    try:
        with pytest.raises(PluginError, match=r"student plugin 'failing' raised during train.*boom in a lane"):
            executor.run(job)
    finally:
        executor.close()
    import threading

    assert not [t.name for t in threading.enumerate() if t.name.startswith("ilm-lane")]  # close stopped the lanes


# -- faults --------------------------------------------------------------------------------------


@pytest.fixture
def worker_faults(registry: Registry, tmp_path, monkeypatch) -> Registry:
    """`registry` with the test plugin `worker_faults` installed, for this process and its workers.

    Workers load their plugins from entry points and start with this process's `sys.path`, so a
    distribution folder on the path makes the plugin's `faulty-lm` student theirs too.
    """
    import worker_faults as plugin

    info = tmp_path / "ilm_test_worker_faults-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ilm-test-worker-faults\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[ilm]\nworker-faults = {plugin.__name__}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry.register(plugin, name="worker-faults")
    return registry


@pytest.mark.slow
@pytest.mark.parametrize(
    ("mode", "student", "params", "expected"),
    [
        ("raise", 3, {}, ["worker 1 (cpu", "raised while training students 3-4", "injected failure"]),
        ("kill", 0, {"devices": ["cpu"]}, ["worker 0 (cpu", "died", "SIGKILL"]),
        ("exit", 0, {}, ["worker 0 (cpu", "died", "exit code 3"]),
        ("hang", 0, {"timeout": 1.5}, ["worker 0 (cpu", "did not finish", "timeout of 1.5 s"]),
    ],
)
def test_worker_faults_end_the_run_in_bounded_time(worker_faults: Registry, mode, student, params, expected) -> None:
    job = faulty_job(5, mode, student)
    executor = build(worker_faults, "multiprocess", {"devices": "cpu,cpu", **params}, job)
    try:
        start = time.monotonic()
        with pytest.raises(PluginError) as info:
            executor.run(job)
        assert time.monotonic() - start < 30
    finally:
        executor.close()
    for text in expected:
        assert text in str(info.value), str(info.value)
    assert_all_stopped(executor)


@pytest.mark.slow
def test_worker_killed_from_outside_between_episodes(registry: Registry) -> None:
    job = make_job(n=4, updates=2)
    executor = build(registry, "multiprocess", {"devices": "cpu,cpu"}, job)
    try:
        assert len(executor.run(job)) == 4
        victim = executor.workers[1]
        os.kill(victim.process.pid, signal.SIGKILL)
        start = time.monotonic()
        with pytest.raises(PluginError, match=r"worker 1 \(cpu, pid \d+\) died .*SIGKILL"):
            executor.run(job)
        assert time.monotonic() - start < 30
    finally:
        executor.close()
    assert_all_stopped(executor)


# -- command line --------------------------------------------------------------------------------


@pytest.mark.slow
def test_ilm_run_with_multiprocess_end_to_end(cli, tmp_path) -> None:
    out = tmp_path / "run"
    code, stdout, stderr = cli(
        "run",
        "--episodes", "2",
        "--students", "3",
        "--executor", "multiprocess",
        "--set", "executor.devices=cpu,cpu",
        "--set", "student.updates=2",
        "--set", "student.dim=16",
        "--set", "student.ffn=32",
        "--set", "teacher.lm_updates=5",
        "--quiet",
        "--out", str(out),
    )  # fmt: skip
    assert code == 0, stdout + stderr
    lines = (out / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 2
    summary_text = (out / "summary.json").read_text()
    assert "multiprocess (2 workers: cpu, cpu" in summary_text


@pytest.mark.slow
def test_ilm_bench_writes_a_row_per_executor(cli, tmp_path) -> None:
    path = tmp_path / "bench.json"
    code, stdout, stderr = cli("bench", "--students", "3", "--updates", "3", "--repeats", "1", "--json", str(path))
    assert code == 0, stdout + stderr
    rows = json.loads(path.read_text())
    native = {r["executor"]: r for r in rows if r["student"] == "transformer-lm"}
    assert set(native) == {"sequential", "batched", "multiprocess"}
    for row in native.values():
        assert row["students"] == 3 and row["updates"] == 3 and row["seconds"] > 0
        assert row["updates_per_second"] > 0 and row["memory_method"]
    assert native["sequential"]["ratio_vs_sequential"] == pytest.approx(1.0)
