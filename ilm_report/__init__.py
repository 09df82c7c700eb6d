"""Reading finished runs back: the paper's figures and tables (`ilm report`) and the seeded
reference baselines (`ilm baselines`). A plugin of ilm like any other: it adds its commands
through the `ilm_commands` hook and reads run directories through the core's public API."""

from typing import Any

from ilm_core import hookimpl


@hookimpl
def ilm_commands(cli: Any) -> None:
    from ilm_report.baselines_cmd import baselines
    from ilm_report.report_cmd import report

    cli.command("baselines")(baselines)
    cli.command("report")(report)
