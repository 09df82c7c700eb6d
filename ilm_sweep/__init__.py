"""`ilm sweep`: a grid of settings over seeds, one resumable run directory each, run here
(`--jobs N` worker processes) or by a `SweepBackend` plugin (`--backend`), with a per-setting
summary (`runs`, `sweep_cmd`). A plugin of ilm like any other: the command comes through the
`ilm_commands` hook; the contracts of a run to make are the core's (`ilm_core.RunSpec`, ...)."""

from typing import Any

from ilm_core import hookimpl


@hookimpl
def ilm_commands(cli: Any) -> None:
    from ilm_sweep.sweep_cmd import sweep

    cli.command("sweep")(sweep)
