"""Tools for plugin authors and for measuring: `ilm new-plugin` (templates), `ilm bench` (what
students, executors and thread policies cost), `ilm inspect` (a teacher's view of the pool), the
cost estimate of `ilm run --dry-run` (`estimate`) and `ilm_devkit.testing` (the contexts and
messages the core hands a component, for plugin tests). A plugin of ilm like any other: its
commands come through the `ilm_commands` hook, the estimate through `ilm_dry_run`."""

from pathlib import Path
from typing import Any

from ilm_core import hookimpl


@hookimpl
def ilm_commands(cli: Any) -> None:
    from ilm_devkit.bench_cmd import bench
    from ilm_devkit.inspect_cmd import inspect
    from ilm_devkit.new_plugin_cmd import new_plugin

    cli.command("new-plugin")(new_plugin)
    cli.command("bench")(bench)
    cli.command("inspect")(inspect)


@hookimpl
def ilm_dry_run(config: dict[str, Any], bench: Path | None) -> list[str]:
    from ilm_devkit.estimate import estimate_lines, load_figures

    return estimate_lines(config, load_figures(bench))
