"""What a run in its run directory does besides the episodes (`ilm_core.runner`): it closes the
executor it started (as `Experiment.close()` does in memory) and counts the environment's set-up
in `setup_seconds`."""

from __future__ import annotations

import time
from typing import ClassVar

import pytest
from conftest import TINY_DOMAINS, tiny_student

from ilm_core import ConfigError, ExecutorSpec, Experiment, PluginError, RunDir, Steps, hookimpl, resolve
from ilm_plugins.executors.local import SequentialExecutor


class Counting(SequentialExecutor):
    closed: ClassVar[list[bool]] = []

    def close(self) -> None:
        Counting.closed.append(True)
        super().close()


class Plugin:
    @staticmethod
    @hookimpl
    def ilm_executors():
        yield ExecutorSpec(name="counting", summary="counts its closes", factory=lambda params: Counting())


def _raw(executor: str = "sequential") -> dict:
    return {
        "environment": TINY_DOMAINS,
        "teacher": {"name": "random"},
        "student": tiny_student(2),
        "executor": {"name": executor},
        "n_students": 2,
        "budget": 3,
        "episodes": 2,
    }


def test_a_run_closes_the_executor_it_started(registry, tmp_path):
    registry.register(Plugin, name="counting-executor")
    Counting.closed = []
    Experiment(resolve(_raw("counting"), registry), registry, RunDir(tmp_path / "run")).run()
    assert Counting.closed == [True]


def test_an_experiment_in_memory_closes_its_executor_when_told(registry):
    registry.register(Plugin, name="counting-executor")
    Counting.closed = []
    experiment = Experiment(resolve(_raw("counting"), registry), registry)
    assert len(list(experiment.episodes())) == 2 and Counting.closed == []
    experiment.close()
    assert Counting.closed == [True]


def test_setup_seconds_count_the_environment_built_before_the_run_directory(registry, tmp_path, monkeypatch):
    import ilm_core.loop

    build = ilm_core.loop.build_environment

    def slow(*args, **kwargs):
        time.sleep(0.3)
        return build(*args, **kwargs)

    monkeypatch.setattr(ilm_core.loop, "build_environment", slow)
    summary = Experiment(resolve(_raw(), registry), registry, RunDir(tmp_path / "run")).run()
    assert summary["setup_seconds"] >= 0.3


def test_the_environment_seconds_are_the_time_its_build_step_took(registry):
    """`Experiment.environment_seconds`, which a new run adds to its `setup_seconds` (the environment is built
    before the run directory), is how long the environment took to build: the span of the 'building the
    environment' step the front end shows, so the set-up time a run reports is neither inflated nor lost."""
    steps = Steps()
    experiment = Experiment(resolve({**_raw(), "episodes": 1}, registry), registry, steps=steps)
    try:
        list(experiment.episodes())
    finally:
        experiment.close()
    assert experiment.environment_seconds == pytest.approx(steps.timings["building the environment"], abs=0.2)


# -- where a run stopped, and how to go on ---------------------------------------------------------


@pytest.mark.parametrize(
    ("resume", "fault", "episode", "done", "told"),
    [
        (
            False,
            "plugin",
            0,
            0,
            "stopped in episode 0; no episode had finished, so nothing was kept. Run the command "
            "again once it is fixed.)",
        ),
        (
            False,
            "signal",
            0,
            0,
            "stopped in episode 0; no episode had finished, so nothing was kept. Run the same command again.)",
        ),
        (True, "signal", 0, 0, "stopped in episode 0; no episode had finished. Continue with `ilm run --resume RUN`.)"),
        (
            False,
            "plugin",
            3,
            3,
            "stopped in episode 3; episodes 0-2 are saved in RUN/metrics.jsonl. Fix the plugin, "
            "then continue with `ilm run --resume RUN`.)",
        ),
        (
            False,
            "signal",
            2,
            3,
            "stopped after episode 2; episodes 0-2 are saved in RUN/metrics.jsonl. Continue with "
            "`ilm run --resume RUN`.)",
        ),
    ],
)
def test_a_stopped_run_says_where_it_stopped_what_was_kept_and_how_to_go_on(
    tmp_path, resume, fault, episode, done, told
) -> None:
    import json
    import signal
    from types import SimpleNamespace

    from ilm_core import PluginError
    from ilm_core.runner import _stopped
    from ilm_core.signals import RunInterrupted

    rd = RunDir(tmp_path / "run")
    rd.create()
    rd.metrics_path.write_text("".join(json.dumps({"episode": e}) + "\n" for e in range(done)))
    exc = PluginError("teacher plugin 'x' failed") if fault == "plugin" else RunInterrupted(signal.SIGINT)
    _stopped(exc, SimpleNamespace(rd=rd, current_episode=episode, saved_episodes=done), resume)
    assert str(exc).endswith("(The run " + told.replace("RUN", str(rd.path)))


# -- an executor that fails to start -----------------------------------------------------------------


class _Unstartable(SequentialExecutor):
    raised: ClassVar[Exception] = ValueError("no device of that name")

    def prepare(self, context) -> None:
        raise _Unstartable.raised


class _UnstartablePlugin:
    @staticmethod
    @hookimpl
    def ilm_executors():
        yield ExecutorSpec(name="unstartable", summary="fails to start", factory=lambda params: _Unstartable())


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (ValueError("no device of that name"), "executor plugin 'unstartable' failed to start: ValueError: no device"),
        (ConfigError("its own one-paragraph words"), "its own one-paragraph words"),  # passed on as it is
    ],
)
def test_an_executor_that_fails_to_start_is_named_unless_it_speaks_for_itself(registry, raised, expected) -> None:
    registry.register(_UnstartablePlugin, name="unstartable-executor")
    _Unstartable.raised = raised
    experiment = Experiment(resolve(_raw("unstartable"), registry), registry)
    with pytest.raises((PluginError, ConfigError)) as failed:
        next(experiment.episodes())
    assert type(failed.value) is (ConfigError if isinstance(raised, ConfigError) else PluginError)
    assert str(failed.value).startswith(expected)
