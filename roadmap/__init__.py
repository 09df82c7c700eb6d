"""The road map of ilm (installed as the package `ilm_roadmap`): the paper's Table 1
(`table1.yaml`), the steps beyond it (`beyond-the-paper.yaml`), one study per cell (`studies/`),
the rule that gives each cell its status (`status.py`) and `ilm roadmap` (`cli.py`), added to the
command line through the `ilm_commands` hook. See README.md beside this file."""

from typing import Any

from ilm_core import hookimpl


@hookimpl
def ilm_commands(cli: Any) -> None:
    from .cli import app

    cli.add_typer(app, name="roadmap")
