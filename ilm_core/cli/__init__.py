"""The `ilm` command line. Each command lives in its own module; this one wires them up and
turns every `IlmError` into a one-paragraph message and exit code 2."""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from rich.text import Text

from ilm_core.errors import IlmError

app = typer.Typer(
    name="ilm",
    help="Interactive language modeling: a teacher learns what to teach student language models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _register_commands() -> None:
    from ilm_core.cli import plugins_cmd, run_cmd

    app.command("run")(run_cmd.run)
    app.command("plugins")(plugins_cmd.plugins)


_register_commands()


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `ilm` console script."""
    try:
        app(args=argv, prog_name="ilm")
    except IlmError as exc:
        err = Console(stderr=True, soft_wrap=True)
        err.print(Text("error: ", style="bold red") + Text(str(exc)))
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        Console(stderr=True).print("interrupted; finished episodes are on disk (resume with --resume RUN_DIR)")
        sys.exit(130)
