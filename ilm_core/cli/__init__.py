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


#: command name -> "module:function" under ilm_core.cli (or "module:app" for a command with
#: subcommands, a typer.Typer); one small module per command
COMMANDS = {
    "run": "run_cmd:run",
    "plugins": "plugins_cmd:plugins",
    "baselines": "baselines_cmd:baselines",
    "sweep": "sweep_cmd:sweep",
    "report": "report_cmd:report",
    "roadmap": "roadmap_cmd:app",  # a group: `ilm roadmap`, `ilm roadmap study CELL`
    "new-plugin": "new_plugin_cmd:new_plugin",
    "bench": "bench_cmd:bench",
    "inspect": "inspect_cmd:inspect",
}


def _register_commands() -> None:
    import importlib

    for name, target in COMMANDS.items():
        module, _, func = target.partition(":")
        command = getattr(importlib.import_module(f"ilm_core.cli.{module}"), func)
        if isinstance(command, typer.Typer):
            app.add_typer(command, name=name)
        else:
            app.command(name)(command)


_register_commands()


def _version(value: bool) -> None:
    if value:
        from ilm_core import __version__

        print(f"ilm {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="print the version of ilm and exit"
    ),
) -> None:
    """Interactive language modeling: a teacher learns what to teach student language models."""


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `ilm` console script."""
    try:
        from ilm_core import threads

        threads.prepare()  # before torch starts OpenMP: its wait policy is read only then
        app(args=argv, prog_name="ilm")
    except IlmError as exc:
        err = Console(stderr=True, soft_wrap=True)
        err.print(Text("error: ", style="bold red") + Text(str(exc)))
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        Console(stderr=True).print("interrupted; finished episodes are on disk (resume with --resume RUN_DIR)")
        sys.exit(130)
    except OSError as exc:  # a file-system error no command anticipated: still one paragraph, not a traceback
        where = f" ({exc.filename})" if exc.filename else ""
        err = Console(stderr=True, soft_wrap=True)
        err.print(Text("error: ", style="bold red") + Text(f"file-system error: {exc.strerror or exc}{where}"))
        sys.exit(2)
