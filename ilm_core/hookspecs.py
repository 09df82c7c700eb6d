"""The hooks a plugin can implement (pluggy, entry-point group `ilm`).

One hook per component kind (`ilm_core.records.COMPONENT_KINDS` lists the kinds; a test keeps
the two in step): each yields records describing the components a plugin provides. Lifecycle hooks observe a
run. `docs/writing-plugins.md` documents every hook here; a test fails when one is missing.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

from ilm_core.records import (
    EnvironmentSpec,
    ExamSpec,
    ExecutorSpec,
    InteractionSpec,
    MeasureSpec,
    RoadmapCell,
    StudentSpec,
    SweepBackendSpec,
    TeacherSpec,
    TrackerSpec,
)

if TYPE_CHECKING:
    from ilm_core.messages import EpisodeRecord

PROJECT = "ilm"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class IlmSpecs:
    """Hook specifications of ilm."""

    @hookspec
    def ilm_environments(self) -> Iterable[EnvironmentSpec]:
        """Register environments (languages and their exams).

        Called once when the registry loads plugins. Yield `EnvironmentSpec` records; the factory
        builds an `ilm_core.Environment` from its params (the registry checks that it is one).
        """
        yield from ()

    @hookspec
    def ilm_teachers(self) -> Iterable[TeacherSpec]:
        """Register teachers.

        Called once when the registry loads plugins. Yield `TeacherSpec` records; the factory builds
        an `ilm_core.Teacher` from its params (the registry checks that it is one).
        """
        yield from ()

    @hookspec
    def ilm_students(self) -> Iterable[StudentSpec]:
        """Register students.

        Called once when the registry loads plugins. Yield `StudentSpec` records; the factory builds
        an `ilm_core.Student` from its params (the registry checks that it is one). Called again in
        each worker process of a multiprocess executor. Add the capability "batched" when one
        `train` call can train many students as one model.
        """
        yield from ()

    @hookspec
    def ilm_interactions(self) -> Iterable[InteractionSpec]:
        """Register interactions (how lessons go out and feedback comes back).

        Called once when the registry loads plugins. Yield `InteractionSpec` records; the factory
        builds an `ilm_core.Interaction` from its params (the registry checks that it is one).
        """
        yield from ()

    @hookspec
    def ilm_exams(self) -> Iterable[ExamSpec]:
        """Register exams.

        Called once when the registry loads plugins. Yield `ExamSpec` records; the factory builds an
        `ilm_core.Exam` from its params (the registry checks that it is one). Called again in worker
        processes.
        """
        yield from ()

    @hookspec
    def ilm_executors(self) -> Iterable[ExecutorSpec]:
        """Register executors (where and how the N students of an episode are trained).

        Called once when the registry loads plugins. Yield `ExecutorSpec` records; the factory
        builds an `ilm_core.Executor` from its params (the registry checks that it is one).
        """
        yield from ()

    @hookspec
    def ilm_trackers(self) -> Iterable[TrackerSpec]:
        """Register trackers (outside tools that follow a run: TensorBoard, MLflow, ...).

        Called once when the registry loads plugins. Yield `TrackerSpec` records; the factory builds
        an `ilm_core.Tracker` from its params (the registry checks that it is one). A tracker
        follows only the runs that name it (`--tracker NAME` or `trackers` in the config); a tracker
        that raises is reported once and switched off, and the run goes on.
        """
        yield from ()

    @hookspec
    def ilm_backends(self) -> Iterable[SweepBackendSpec]:
        """Register sweep backends (where `ilm sweep --backend NAME` runs its runs).

        Called once when the registry loads plugins. Yield `SweepBackendSpec` records; the factory
        builds an `ilm_core.SweepBackend` from its params (the registry checks that it is one).
        `local` (this machine's processes, `--jobs N`) is built in; a backend runs each run's own
        resumable run directory, so the per-setting summary is the same whichever ran it.
        """
        yield from ()

    @hookspec
    def ilm_measures(self) -> Iterable[MeasureSpec]:
        """Register measures (figures of each episode written to metrics.jsonl).

        Called once when the registry loads plugins. Yield `MeasureSpec` records; the factory builds
        an `ilm_core.Measure` from its params (the registry checks that it is one). A run uses the
        measures its config lists in `measures` (default: the paper's, `ilm_core.DEFAULT_MEASURES`);
        each is set up once with the environment's data and called once per episode, after the
        students are scored and before the record is written.
        """
        yield from ()

    @hookspec
    def ilm_roadmap_cells(self) -> Iterable[RoadmapCell]:
        """Add new cells (steps) to the road map.

        Called when the road map is assembled (`ilm roadmap`). Yield
        `RoadmapCell` records under an existing component and group or a new group; their
        ids can then be named in a plugin's `roadmap` field.
        """
        yield from ()

    @hookspec
    def ilm_commands(self, cli: Any) -> None:
        """Add commands to the `ilm` command line.

        `cli` is the `typer.Typer` application: add a command with `cli.command("name")(function)`
        or a group with `cli.add_typer(app, name="name")`. Called when `ilm` starts; `ilm report`,
        `ilm roadmap`, `ilm baselines`, `ilm bench`, `ilm inspect` and `ilm new-plugin` come this way.
        """

    @hookspec
    def ilm_process_setup(self, choice: str | None) -> None:
        """Set this process up before torch starts OpenMP (its thread plan: package `ilm_threads`).

        Called first thing by `ilm` and by each worker process of `ilm sweep` (`choice` None: the
        plugin's default or its environment variables), and again by `ilm run --threads CHOICE`.
        Load the plugin without importing torch, or the set-up comes too late.
        """

    @hookspec(firstresult=True)
    def ilm_process_plan(self) -> dict[str, Any] | None:
        """The set-up in effect in this process, put in effect now, as a JSON object.

        Called before a run builds its environment; what it returns is written under `threads` in
        provenance.json and summary.json (nothing when no plugin answers).
        """

    @hookspec(firstresult=True)
    def ilm_process_describe(self) -> str | None:
        """One line saying how this process is set up (printed by `ilm run`)."""

    @hookspec
    def ilm_worker_environment(self, jobs: int) -> dict[str, str]:
        """Environment variables for each of `jobs` worker processes (`ilm sweep --jobs`).

        The workers share this process's set-up; each calls `ilm_process_setup` with them set.
        """
        return {}

    @hookspec
    def ilm_dry_run(self, config: dict[str, Any], bench: Path | None) -> list[str]:
        """Lines that `ilm run --dry-run` prints on stderr about the resolved config (`ilm_devkit`: its cost).

        `config` is the resolved `ExperimentConfig` as JSON; `bench` the file `--bench` names (or None).
        """
        return []

    @hookspec
    def ilm_run_start(self, run: Any) -> None:
        """Observe the start of a run, after the config is resolved and the environment built.

        `run` is the `ilm_core.RunInfo` (config, run directory, first episode).
        """

    @hookspec
    def ilm_episode_end(self, run: Any, record: EpisodeRecord) -> None:
        """Observe the end of an episode, after its record is written to metrics.jsonl."""

    @hookspec
    def ilm_run_end(self, run: Any, summary: dict[str, Any]) -> None:
        """Observe the end of a run, after summary.json is written."""
