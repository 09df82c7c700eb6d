"""The thread plan (ilm_threads): what it chooses on quiet and busy machines; it never changes the numbers."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from ilm_core.errors import ConfigError
from ilm_threads import policy as threads
from tests.conftest import TINY


@pytest.fixture
def fresh_plan() -> Iterator[None]:
    """Each test prepares its own plan; afterwards the process is as the session left it."""
    import torch

    before = (threads._current, threads._applied, torch.get_num_threads())
    yield
    threads._current, threads._applied = before[0], before[1]
    torch.set_num_threads(before[2])


def test_auto_uses_every_core_spinning_when_quiet_and_sleeping_when_busy() -> None:
    for load, busy in ((0.2, False), (7.5, True)):
        auto = threads.plan("auto", environ={}, cores=4, load=load)
        assert (auto.threads, auto.lane_cores, auto.busy) == (4, 4, busy)
        # quiet: torch's own (spinning) waits; busy: idle OpenMP threads sleep instead of spinning
        assert auto.wait_policy == ("PASSIVE" if busy else None)
        assert auto.spins == (not busy)
        assert (auto.max_lanes(2), auto.lane_threads(2)) == (2, 2)  # 2 groups: 2 lanes of 2 threads
        assert (auto.max_lanes(9), auto.lane_threads(4)) == (4, 1)
        assert ("busy" in auto.describe()) == busy


def test_a_user_choice_wins_and_a_bad_one_is_a_clear_error() -> None:
    assert threads.plan(None, environ={"ILM_THREADS": "3"}, cores=8, load=20.0).threads == 3
    omp = threads.plan(None, environ={"OMP_NUM_THREADS": "1"}, cores=8, load=0.0)
    assert (omp.policy, omp.threads, omp.lane_cores) == ("user", 1, 1)  # as OMP_NUM_THREADS=1 always did
    kept = threads.plan("auto", environ={"OMP_WAIT_POLICY": "ACTIVE"}, cores=2, load=0.0)
    assert kept.wait_policy == "ACTIVE"
    shared = threads.plan("auto", environ={"ILM_CORES": "2"}, cores=8, load=0.0)
    assert (shared.threads, shared.lane_cores) == (2, 2)
    # spinning waits while other processes leave each of the plan's threads a core
    assert threads.plan("auto", environ={"ILM_CORES": "2"}, cores=8, load=6.0).spins
    assert not threads.plan("auto", environ={"ILM_CORES": "2"}, cores=8, load=7.0).spins
    with pytest.raises(ConfigError, match=r"ILM_THREADS .* = 'many'.*auto.*torch"):
        threads.plan("many", environ={}, cores=2, load=0.0)


def test_sweep_workers_share_the_cores(fresh_plan) -> None:
    threads._current, threads._applied = threads.plan("auto", environ={}, cores=4, load=0.0), True
    import torch

    torch.set_num_threads(4)
    assert threads.child_environment(2) == {"ILM_THREADS": "auto", "ILM_CORES": "2"}  # each decides its waits
    threads._current = threads.plan("auto", environ={}, cores=4, load=6.0)
    assert threads.child_environment(2) == {"ILM_THREADS": "auto", "ILM_CORES": "2", "OMP_WAIT_POLICY": "PASSIVE"}
    threads._current = threads.plan("4", environ={}, cores=8, load=0.0)
    env = threads.child_environment(4)
    assert env["ILM_THREADS"] == env["OMP_NUM_THREADS"] == "1"


def test_the_guard_drops_a_spinning_plan_to_one_thread_while_others_run(fresh_plan, monkeypatch) -> None:
    import torch

    threads._current, threads._applied = threads.plan("auto", environ={}, cores=2, load=0.0), True
    torch.set_num_threads(2)
    monkeypatch.setattr(threads, "others_running", lambda: 3)
    assert threads.guard() == 1 and torch.get_num_threads() == 1
    assert threads.current().policy == "auto"  # the guard's setting is the plan's, not the user's
    monkeypatch.setattr(threads, "others_running", lambda: 0)
    assert threads.guard() == 2 and torch.get_num_threads() == 2
    threads._current = threads.plan("auto", environ={}, cores=2, load=5.0)  # sleeping waits: nothing to guard
    assert threads.guard() is None
    threads._current = threads.plan("torch", environ={}, cores=2, load=0.0)  # the user's choice stands
    assert threads.guard() is None


def test_others_running_counts_other_processes_only() -> None:
    others = threads.others_running()
    assert others is None or others >= 0


def test_a_run_gives_the_same_numbers_with_one_thread_or_two(cli, tmp_path, monkeypatch, fresh_plan) -> None:
    """Teacher LM pretraining (cache off), lanes and episodes: identical records whatever the plan."""
    records = {}
    for plan in ("1", "2", "auto"):
        monkeypatch.setenv("ILM_THREADS", plan)
        out = tmp_path / f"run-{plan}"
        args = [*TINY, "--students", "4", "--executor", "batched", "--set", "executor.max_group=2"]
        code, stdout, err = cli("run", *args, "--no-cache", "--out", str(out))
        assert code == 0, err
        summary = json.loads(stdout[: stdout.rindex("}") + 1])
        assert summary["threads"]["policy"] == ("auto" if plan == "auto" else "user")
        lines = (out / "metrics.jsonl").read_text().splitlines()
        records[plan] = [{k: v for k, v in json.loads(line).items() if k != "seconds"} for line in lines]
    assert records["1"] == records["2"] == records["auto"]


def test_the_plan_is_made_through_the_process_hooks_before_torch_is_imported() -> None:
    """`ilm` asks the plugins for the plan first thing: loading them must leave torch unimported."""
    import subprocess
    import sys

    code = (
        "import os, sys\n"
        "os.environ['ILM_THREADS'] = '1'\n"
        "from ilm_core import process\n"
        "process.setup()\n"
        "assert 'torch' not in sys.modules, 'a plugin imported torch when loaded'\n"
        "print(process.plan()['policy'], os.environ.get('OMP_WAIT_POLICY'))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[0] == "user"


def test_without_a_plugin_that_answers_the_process_hooks_do_nothing() -> None:
    from ilm_core.registry import Registry

    hook = Registry().pm.hook
    hook.ilm_process_setup(choice="2")
    assert hook.ilm_process_plan() is None and hook.ilm_process_describe() is None
    assert hook.ilm_worker_environment(jobs=2) == []
