"""The `ray` executor on a local Ray (2 CPUs, started once per session): the same students as
`batched`; a dead, failing or hung actor ends the run in bounded time naming it, and
`--resume` then gives the records of an uninterrupted run."""

from __future__ import annotations

import json
import time

import pytest
from conftest import TINY
from test_executors import assert_same, build, make_job, summary
from test_rounds import N, distance, job, per_student, reference

from ilm_core import ConfigError, ExecutorContext, PluginError
from ilm_core.registry import Registry
from ilm_plugins.executors.ray_executor import FAULT_ENV

pytest.importorskip("ray")

#: a local Ray and its actors take seconds to start: every test here counts as slow
pytestmark = [pytest.mark.usefixtures("ray_local"), pytest.mark.slow]


def actors_gone(executor) -> bool:
    """Every actor's process has ended (the local Ray runs them on this machine)."""
    pids = [int(a.place.rsplit("pid ", 1)[1]) for a in executor.actors if "pid" in a.place]
    assert pids, "no actor had started"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if not any(_alive(pid) for pid in pids):
            return True
        time.sleep(0.2)
    return False


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_ray_trains_the_same_students_as_batched(registry: Registry, ray_local) -> None:
    job = make_job(n=5)
    batched = build(registry, "batched", {}, job)
    try:
        expected = summary(batched.run(job))
    finally:
        batched.close()
    executor = build(registry, "ray", {"group_size": 3}, job)
    try:
        got = summary(executor.run(job))
        assert_same(summary(executor.run(job)), got)  # actors are reused: a second episode, the same students
    finally:
        executor.close()
    assert_same(got, expected)
    assert executor.description == "ray (2 actors on the Ray of this process: 3+2 students, batched, 1 CPU each)"
    assert all("pid" in a.place for a in executor.actors)
    assert actors_gone(executor)
    assert ray_local.is_initialized()  # a Ray it did not start stays up


def test_actors_keep_their_students_between_rounds(registry: Registry) -> None:
    """A cohort's students stay in their actor: round 2 trains each student's round-1 self."""
    two_rounds, round_two_only = reference()
    executor = registry.build("executor", "ray", {"group_size": 3})
    executor.prepare(
        ExecutorContext(registry=registry, student=job(1).student, n_students=N, device="cpu", notify=lambda m: None)
    )
    try:
        executor.run(job(1))
        after_one = per_student(executor.save_students("c"))
        executor.run(job(2))
        after_two = per_student(executor.save_students("c"))
        executor.load_students("c", executor.save_students("c"))  # a checkpoint's students, given back
        assert all(distance(per_student(executor.save_students("c"))[i], after_two[i]) == 0 for i in range(N))
        executor.run(job(3, release=True))
        assert executor.save_students("c") == {}, "a released cohort must be gone"
    finally:
        executor.close()
    assert sorted(after_two) == list(range(N))
    for i in range(N):
        assert distance(after_two[i], after_one[i]) > 1e-3, f"student {i} did not train in round 2"
        assert distance(after_two[i], two_rounds[i]) < 1e-4, f"student {i} is not its round-1 self trained on"
        assert distance(after_two[i], round_two_only[i]) > 1e-2, f"student {i} looks freshly initialised"


@pytest.mark.parametrize(
    ("fault", "params", "expected"),
    [
        ("raise", {}, ["actor 0 (node", "raised while training students 0-3", "injected failure", "ilm train"]),
        ("hang", {"timeout": 2}, ["actor 0 (node", "did not finish", "students 0-3", "timeout of 2 s"]),
    ],
)
def test_actor_faults_end_the_run_in_bounded_time(registry, ray_local, monkeypatch, fault, params, expected) -> None:
    monkeypatch.setenv(FAULT_ENV, fault)
    job = make_job(n=4, updates=2)
    executor = build(registry, "ray", {"group_size": 4, **params}, job)
    try:
        executor._await_ready(ray_local)  # start-up is not part of the bound
        start = time.monotonic()
        with pytest.raises(PluginError) as info:
            executor.run(job)
        assert time.monotonic() - start < 30
    finally:
        executor.close()
    message = str(info.value)
    for text in expected:
        assert text in message, message
    assert "\n" not in message
    assert actors_gone(executor)


def test_resources_the_cluster_lacks_are_refused_before_anything_starts(registry: Registry, ray_local) -> None:
    job = make_job(n=4)
    with pytest.raises(ConfigError, match=r"executor.num_gpus = 1 for each of 2 student groups .* needs 2 GPUs"):
        build(registry, "ray", {"group_size": 2, "num_gpus": 1}, job)
    with pytest.raises(ConfigError, match=r"executor.num_cpus = 1 for each of 4 student groups .* needs 4 CPUs.*has 2"):
        build(registry, "ray", {"group_size": 1}, job)


def records(path) -> list[dict]:
    lines = (path / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k != "seconds"} for line in lines]


def test_a_killed_actor_stops_the_run_and_resume_gives_the_uninterrupted_records(cli, tmp_path, monkeypatch) -> None:
    """Students that live through the run: the resumed run's new actors get them from the checkpoint."""
    args = ["run", *TINY, "--episodes", "4", "--executor", "ray", "--set", "executor.group_size=2"]
    args += ["--set", "student_lifetime=run"]
    code, _, err = cli(*args, "--out", str(tmp_path / "whole"))
    assert code == 0, err
    monkeypatch.setenv(FAULT_ENV, "kill:1@3")  # actor 1 dies in the third episode
    start = time.monotonic()
    code, out, err = cli(*args, "--out", str(tmp_path / "cut"))
    assert time.monotonic() - start < 120
    assert code == 2 and "Traceback" not in out + err
    message = " ".join(err.split())
    for text in ("executor 'ray': actor 1", "died while training student 2", "(job 3)", "stopped in episode 2"):
        assert text in message, message
    assert f"ilm run --resume {tmp_path / 'cut'}" in message
    assert len(records(tmp_path / "cut")) == 2  # the finished episodes are kept
    monkeypatch.delenv(FAULT_ENV)
    code, _, err = cli("run", "--resume", str(tmp_path / "cut"), "--quiet")
    assert code == 0, err
    assert records(tmp_path / "cut") == records(tmp_path / "whole")
