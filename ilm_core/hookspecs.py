"""The hooks a plugin can implement (pluggy, entry-point group `ilm`).

One hook per component kind, made from the table of kinds (`ilm_core.records.COMPONENT_KINDS`):
each returns records describing the components a plugin provides. Lifecycle hooks observe a
run. `docs/writing-plugins.md` documents every hook here; a test fails when one is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import pluggy

from ilm_core.records import COMPONENT_KINDS, ComponentKind, PluginSpec, RoadmapCell

if TYPE_CHECKING:
    from ilm_core.messages import EpisodeRecord

PROJECT = "ilm"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class IlmSpecs:
    """Hook specifications of ilm."""

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
    def ilm_run_start(self, run: Any) -> None:
        """Observe the start of a run, after the config is resolved and the environment built.

        `run` is the `ilm_core.loop.RunInfo` (config, run directory, first episode).
        """

    @hookspec
    def ilm_episode_end(self, run: Any, record: EpisodeRecord) -> None:
        """Observe the end of an episode, after its record is written to metrics.jsonl."""

    @hookspec
    def ilm_run_end(self, run: Any, summary: dict[str, Any]) -> None:
        """Observe the end of a run, after summary.json is written."""


def _component_hook(kind: ComponentKind) -> Callable[..., Iterable[PluginSpec]]:
    def hook(self: Any) -> Iterable[PluginSpec]:
        yield from ()

    hook.__name__ = kind.hook
    hook.__qualname__ = f"IlmSpecs.{kind.hook}"
    notes = f" {kind.notes}" if kind.notes else ""
    hook.__doc__ = (
        f"Register {kind.registers}.\n\n"
        f"Called once when the registry loads plugins. Yield `{kind.record}` records; the factory builds "
        f"an `ilm_core.{kind.interface}` from its params (the registry checks that it is one).{notes}"
    )
    return hookspec(hook)


for _kind in COMPONENT_KINDS:
    setattr(IlmSpecs, _kind.hook, _component_hook(_kind))
