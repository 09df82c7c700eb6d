"""The registry: inline plugins, real entry points from another distribution, duplicates, misses."""

from __future__ import annotations

import sys
import textwrap

import pytest
from conftest import small_run

from ilm_core import (
    ConfigError,
    HeldOutAccessError,
    Lesson,
    PluginError,
    TeacherSpec,
    UnknownPluginError,
    hookimpl,
)
from ilm_core.config import resolve
from ilm_core.loop import Experiment
from ilm_core.registry import Registry
from ilm_core.rundir import RunDir
from ilm_plugins.teachers.baselines import RandomTeacher

SMALL = small_run()


class PeekingTeacher(RandomTeacher):
    def setup(self, context):
        self.peek = context.heldout_exam


class InlinePlugin:
    __name__ = "inline-test-plugin"

    @hookimpl
    def ilm_teachers(self):
        yield TeacherSpec(
            name="always-first",
            summary="sends the first sentences",
            factory=FirstTeacher,
            roadmap=("teacher.speaking.select-from-bin",),
        )
        yield TeacherSpec(name="peeking", summary="asks for the held-out exam", factory=PeekingTeacher)


class FirstTeacher(RandomTeacher):
    def select(self, context):
        return [Lesson(student=i, indices=list(range(context.size))) for i in range(context.n_students)]


def test_inline_plugin_is_listed_and_runs(registry, tmp_path):
    registry.register(InlinePlugin(), name="inline")
    spec = registry.get("teacher", "always-first")
    assert spec.distribution == "<in-process>"
    cfg = resolve({**SMALL, "teacher": "always-first"}, registry)
    summary = Experiment(cfg, registry, RunDir(tmp_path / "r")).run()
    assert summary["episodes"] == 2


def test_a_teacher_cannot_read_the_heldout_exam(registry, tmp_path):
    registry.register(InlinePlugin(), name="inline")
    cfg = resolve({**SMALL, "teacher": "peeking"}, registry)
    with pytest.raises(HeldOutAccessError, match="held-out exam"):
        Experiment(cfg, registry, RunDir(tmp_path / "r")).run()


def test_duplicate_names_name_every_provider(registry):
    class Clash:
        @hookimpl
        def ilm_teachers(self):
            yield TeacherSpec(name="oracle", summary="another oracle", factory=RandomTeacher)

    registry.register(Clash(), name="clash", distribution="ilm-clash")
    with pytest.raises(
        PluginError, match=r"'oracle' provided by: .*ilm.*ilm-clash|'oracle' provided by: .*ilm-clash.*ilm"
    ):
        registry.specs("teacher")


def test_unknown_name_did_you_mean(registry):
    with pytest.raises(UnknownPluginError, match="Did you mean 'oracle'"):
        registry.get("teacher", "orcale")
    with pytest.raises(ConfigError, match="unknown component kind"):
        registry.specs("teachers")


def test_a_hook_that_raises_marks_its_plugin_broken_and_others_still_work(registry):
    class Broken:
        @hookimpl
        def ilm_teachers(self):
            raise RuntimeError("boom")

    registry.register(Broken(), name="broken-one")
    assert "select-bin" in registry.specs("teacher")
    assert any(b.name == "broken-one" and "boom" in b.reason for b in registry.broken)


def test_entry_point_of_a_separate_installed_distribution(tmp_path, monkeypatch):
    """A real entry point in a dist-info on sys.path, found without any change to the core."""
    (tmp_path / "thirdparty_teacher.py").write_text(
        textwrap.dedent("""
        from ilm_core import TeacherSpec, hookimpl

        @hookimpl
        def ilm_teachers():
            yield TeacherSpec(name="third-party", summary="from another distribution",
                              factory="ilm_plugins.teachers.baselines:RandomTeacher")
    """)
    )
    dist = tmp_path / "ilm_thirdparty-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: ilm-thirdparty\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[ilm]\nthirdparty = thirdparty_teacher\nbroken = not_a_module_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    reg = Registry()
    reg.load_entry_points()
    spec = reg.get("teacher", "third-party")
    assert spec.distribution == "ilm-thirdparty"
    assert any(b.name == "broken" and "not_a_module_xyz" in b.reason for b in reg.broken)
    assert "select-bin" in reg.specs("teacher")
    blocked = Registry()
    blocked.load_entry_points(external=False)
    assert "third-party" not in blocked.specs("teacher")
    sys.modules.pop("thirdparty_teacher", None)


def test_shared_student_init_gives_every_student_of_an_episode_the_same_seed(registry, tmp_path):
    from ilm_core import ExecutorSpec
    from ilm_plugins.executors.local import SequentialExecutor

    seen: list[list[int]] = []

    class Recording(SequentialExecutor):
        def run(self, job):
            seen.append(list(job.seeds))
            return super().run(job)

    class Plugin:
        @hookimpl
        def ilm_executors(self):
            yield ExecutorSpec(name="recording", summary="records seeds", factory=Recording)

    registry.register(Plugin(), name="recording")
    for mode in ("independent", "shared", "same-every-episode"):
        seen.clear()
        cfg = resolve({**SMALL, "teacher": "random", "executor": "recording", "student_init": mode}, registry)
        Experiment(cfg, registry, RunDir(tmp_path / mode)).run()
        assert len(seen) == 2
        if mode == "shared":
            assert all(len(set(s)) == 1 for s in seen) and seen[0] != seen[1]
        else:
            assert all(len(set(s)) == len(s) for s in seen)
            assert (seen[0] == seen[1]) == (mode == "same-every-episode")


def test_a_plugin_whose_commands_fail_is_broken_and_the_others_still_register():
    import typer

    from ilm_core import hookimpl as impl

    class Failing:
        @staticmethod
        @impl
        def ilm_commands(cli):
            raise RuntimeError("no such module")

    class Working:
        @staticmethod
        @impl
        def ilm_commands(cli):
            cli.command("hello")(lambda: None)

    reg = Registry()
    reg.register(Failing, name="failing-commands")
    reg.register(Working, name="working-commands")
    app = typer.Typer()
    reg.add_commands(app)
    reg.add_commands(typer.Typer())  # a second command line: the failure is recorded once
    assert [c.name for c in app.registered_commands] == ["hello"]
    assert [(b.name, b.reason) for b in reg.broken] == [
        ("failing-commands", "ilm_commands failed: RuntimeError: no such module")
    ]


def test_two_experiments_in_one_process_do_not_share_plugins(tmp_path):
    """Each `Registry.installed()` has its own plugin manager: a teacher and a lifecycle hook
    registered for one experiment are unknown to, and never called by, the other."""
    seen: list[str] = []

    class Watching:
        @hookimpl
        def ilm_episode_end(self, run, record):
            seen.append(run.run_dir.path.name)

    mine, theirs = Registry.installed(), Registry.installed()
    assert mine.pm is not theirs.pm
    mine.register(InlinePlugin(), name="inline")
    mine.register(Watching(), name="watching")
    Experiment(resolve({**SMALL, "teacher": "always-first"}, mine), mine, RunDir(tmp_path / "mine")).run()
    with pytest.raises(UnknownPluginError, match="always-first"):
        resolve({**SMALL, "teacher": "always-first"}, theirs)
    Experiment(resolve({**SMALL, "teacher": "random"}, theirs), theirs, RunDir(tmp_path / "theirs")).run()
    assert seen == ["mine", "mine"]  # two episodes of the first experiment, none of the second


def _raising(exc: Exception):
    def factory(params):
        raise exc

    return factory


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (
            ValueError("no pool of that shape"),
            "teacher plugin 'failing' (from ilm-failing) failed while being built: ValueError: no pool of that shape",
        ),
        (ConfigError("its own one-paragraph words"), "its own one-paragraph words"),  # passed on as it is
    ],
)
def test_a_factory_that_raises_is_named_with_its_distribution_unless_it_speaks_for_itself(registry, raised, expected):
    class Failing:
        @hookimpl
        def ilm_teachers(self):
            yield TeacherSpec(name="failing", summary="cannot be built", factory=_raising(raised))

    registry.register(Failing(), name="failing-one", distribution="ilm-failing")
    with pytest.raises((PluginError, ConfigError)) as failed:
        registry.build("teacher", "failing", {})
    assert type(failed.value) is (ConfigError if isinstance(raised, ConfigError) else PluginError)
    assert str(failed.value) == expected
