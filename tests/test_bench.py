"""`ilm bench` takes its environment, students and executors as params (reference ones by default)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import BaseModel

from ilm_core import (
    ExecutorSpec,
    Registry,
    StudentSpec,
    UnknownPluginError,
    hookimpl,
)
from ilm_devkit.bench import DEFAULTS, BenchSetup, run_bench


class AnyParams(BaseModel, extra="allow"):
    pass


class Recording:
    """Executors that train nothing and log every episode they are asked to run."""

    def __init__(self) -> None:
        self.log: list[tuple[str, str]] = []

    def executor(self, name: str):
        from ilm_core import Executor

        log = self.log

        class Fake(Executor):
            description = f"fake {name}"

            def prepare(self, context) -> None:
                self.student = context.student.name

            def run(self, job):
                log.append((name, self.student))
                return []

        return lambda params: Fake()

    @hookimpl
    def ilm_executors(self) -> Iterator[ExecutorSpec]:
        for name in ("first", "second"):
            yield ExecutorSpec(name=name, summary="test", factory=self.executor(name))

    @hookimpl
    def ilm_students(self) -> Iterator[StudentSpec]:
        yield StudentSpec(name="absent-student", summary="test", factory=dict, requires=("no_such_module_xyz",))
        yield StudentSpec(name="other-student", summary="test", factory=dict, params=AnyParams)


@pytest.fixture
def recording(registry: Registry) -> Recording:
    plugin = Recording()
    registry.register(plugin, name="recording-test")
    return plugin


def setup(**update) -> BenchSetup:
    return DEFAULTS.model_copy(update={"executors": ("first", "second"), "baseline": "first", **update})


def test_the_named_executors_and_students_are_timed_in_rounds(registry: Registry, recording: Recording) -> None:
    notices: list[str] = []
    rows = run_bench(
        registry,
        students=3,
        updates=1,
        repeats=2,
        notify=notices.append,
        setup=setup(environment="structures", students=("transformer-lm", "absent-student")),
    )
    assert [(r.executor, r.student) for r in rows] == [("first", "transformer-lm"), ("second", "transformer-lm")]
    assert rows[0].description == "fake first" and rows[0].ratio_vs_sequential == pytest.approx(1.0)
    assert all(r.seconds > 0 and len(r.seconds_all) == 2 for r in rows)
    # one warm-up each, then every executor once per round
    assert recording.log == [("first", "transformer-lm"), ("second", "transformer-lm")] * 3
    assert any("'absent-student' skipped: it needs no_such_module_xyz" in n for n in notices), notices


def test_other_students_run_under_the_baseline_executor_only(registry: Registry, recording: Recording) -> None:
    rows = run_bench(
        registry, students=2, updates=1, repeats=1, setup=setup(students=("transformer-lm", "other-student"))
    )
    assert [(r.executor, r.student) for r in rows] == [
        ("first", "transformer-lm"),
        ("second", "transformer-lm"),
        ("first", "other-student"),
    ]


def test_unknown_names_fail_before_anything_runs(registry: Registry, recording: Recording) -> None:
    with pytest.raises(UnknownPluginError, match="unknown environment 'nowhere'"):
        run_bench(registry, repeats=1, setup=setup(environment="nowhere"))
    with pytest.raises(UnknownPluginError, match="unknown executor 'third'"):
        run_bench(registry, repeats=1, setup=setup(executors=("first", "third")))
    assert recording.log == []
