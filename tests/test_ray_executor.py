"""The `ray` executor on a local Ray (2 CPUs, started once per session): the same students as
`batched`; a dead, failing or hung actor ends the run in bounded time naming it, and
`--resume` then gives the records of an uninterrupted run. Faults come from the test plugin
`worker_faults` (its `faulty-lm` student), which the session's Ray workers have installed."""

from __future__ import annotations

import json
import shutil
import time

import pytest
from conftest import TINY
from test_executors import assert_same, build, faulty_job, make_job, summary
from test_rounds import N, distance, job, per_student, reference

from ilm_core import ConfigError, ExecutorContext, PluginError, Registry, resolve, seeding, set_up
from ilm_core.loop import Experiment
from ilm_core.rundir import RunDir

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
    set_up(
        executor,
        ExecutorContext(registry=registry, student=job(1).student, n_students=N, device="cpu", notify=lambda m: None),
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


@pytest.fixture
def faults(registry: Registry) -> Registry:
    """`registry` with the test plugin `worker_faults` (the actors have it from their entry points)."""
    import worker_faults

    registry.register(worker_faults, name="worker-faults")
    return registry


@pytest.mark.parametrize(
    ("mode", "params", "expected"),
    [
        ("raise", {}, ["actor 0 (node", "raised while training students 0-3", "injected failure", "ilm train"]),
        ("hang", {"timeout": 2}, ["actor 0 (node", "did not finish", "students 0-3", "timeout of 2 s"]),
    ],
)
def test_actor_faults_end_the_run_in_bounded_time(faults, ray_local, mode, params, expected) -> None:
    job = faulty_job(4, mode, 1)
    executor = build(faults, "ray", {"group_size": 4, **params}, job)
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


def test_a_killed_actor_stops_the_run_and_resume_gives_the_uninterrupted_records(
    cli, faults, tmp_path, monkeypatch
) -> None:
    monkeypatch.setattr("ilm_core.cli.run_cmd.default_registry", lambda: faults)
    armed = tmp_path / "armed"  # the student kills its actor while this file exists
    victim = seeding.derive(6639, "student", 2, 2)  # student 2 of episode 2, alone in actor 1
    args = ["run", *TINY, "--seed", "6639", "--episodes", "4", "--executor", "ray", "--set", "executor.group_size=2"]
    args += ["--student", "faulty-lm", "--set", "student.mode=kill", "--set", f"student.fail_seed={victim}"]
    args += ["--set", "student.updates=3", "--set", "student.dim=16", "--set", "student.ffn=32"]
    code, _, err = cli(*args, "--set", f"student.while_file={tmp_path / 'never'}", "--out", str(tmp_path / "whole"))
    assert code == 0, err
    armed.write_text("")
    start = time.monotonic()
    code, out, err = cli(*args, "--set", f"student.while_file={armed}", "--out", str(tmp_path / "cut"))
    assert time.monotonic() - start < 120
    assert code == 2 and "Traceback" not in out + err
    message = " ".join(err.split())
    for text in ("executor 'ray': actor 1", "died while training student 2", "(job 3)", "stopped in episode 2"):
        assert text in message, message
    assert f"ilm run --resume {tmp_path / 'cut'}" in message
    assert len(records(tmp_path / "cut")) == 2  # the finished episodes are kept
    armed.unlink()  # the fault is fixed
    code, _, err = cli("run", "--resume", str(tmp_path / "cut"), "--quiet")
    assert code == 0, err
    assert records(tmp_path / "cut") == records(tmp_path / "whole")


def test_students_that_live_through_the_run_come_back_from_a_checkpoint(registry: Registry, tmp_path) -> None:
    """A run cut back to its first checkpoint and resumed by new actors ends with the whole run's records."""
    from reliability._support import SMALL, metrics_lines

    raw = {**SMALL, "episodes": 4, "student_lifetime": "run", "checkpoint_every": 2, "keep_checkpoints": 3}
    cfg = resolve({**raw, "executor": {"name": "ray", "params": {"group_size": 1}}}, registry)
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    Experiment(cfg, registry, RunDir(whole)).run()
    shutil.copytree(whole, cut)
    (cut / "summary.json").unlink()
    (cut / "checkpoints" / "episode-000004.pt").unlink()
    (cut / "metrics.jsonl").write_text("".join(line + "\n" for line in metrics_lines(whole)[:2]))
    Experiment(cfg, registry, RunDir(cut)).run(resume=True)
    assert records(cut) == records(whole)
    fresh = tmp_path / "fresh"  # the students did live through the run
    Experiment(
        resolve({**raw, "student_lifetime": "episode", "executor": cfg.executor.model_dump()}, registry),
        registry,
        RunDir(fresh),
    ).run()
    assert records(fresh)[1:] != records(whole)[1:]
