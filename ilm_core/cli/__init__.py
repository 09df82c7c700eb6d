"""The `ilm` command line. Each command lives in its own module; this one wires them up and
turns every `IlmError` into a one-paragraph message and exit code 2."""

from __future__ import annotations

import sys
from typing import Any, cast

import typer
from rich.console import Console
from rich.text import Text

from ilm_core.errors import IlmError

#: the core's own commands: name -> "module:function" under ilm_core.cli. Other commands (`ilm
#: report`, `ilm sweep`, `ilm roadmap`, `ilm bench`, ...) come from plugins through the `ilm_commands` hook.
COMMANDS = {
    "run": "run_cmd:run",
    "plugins": "plugins_cmd:plugins",
}


def build_app() -> typer.Typer:
    """The `ilm` command line: the core's commands, then those plugins add (a plugin whose
    commands fail to register is reported by name and skipped, never fatal)."""
    import importlib

    from ilm_core.registry import default_registry

    app = typer.Typer(
        name="ilm",
        help="Interactive language modeling: a teacher learns what to teach student language models.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )
    app.callback()(_options)
    for name, target in COMMANDS.items():
        module, _, func = target.partition(":")
        app.command(name)(getattr(importlib.import_module(f"ilm_core.cli.{module}"), func))
    default_registry().add_commands(app)
    return app


def _version(value: bool) -> None:
    if value:
        from ilm_core import __version__

        print(f"ilm {__version__}")
        raise typer.Exit()


def _options(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="print the version of ilm and exit"
    ),
) -> None:
    """Interactive language modeling: a teacher learns what to teach student language models."""


#: what an option's type allows, by the kind of pydantic error its value gave
_ALLOWED = {"int": "a whole number", "float": "a number", "bool": "true or false"}


def usage_error(exc: typer.TyperException, argv: list[str]) -> str:
    """A command-line mistake as one paragraph: the option, the value given and what is allowed."""
    ctx = getattr(exc, "ctx", None)
    command = ctx.command_path if ctx is not None else "ilm"
    opts = list(getattr(getattr(exc, "param", None), "opts", None) or [])
    message = " ".join(exc.format_message().split())
    if isinstance(exc, typer.BadParameter) and opts and any(a in opts or a.split("=")[0] in opts for a in argv):
        given = None
        for i, arg in enumerate(argv):
            if arg in opts and i + 1 < len(argv):
                given = argv[i + 1]
            elif arg.split("=")[0] in opts and "=" in arg:
                given = arg.split("=", 1)[1]
        read_errors = getattr(exc.__cause__, "errors", None)
        errors = read_errors() if callable(read_errors) else []
        kind = str(errors[0].get("type", "")).split("_")[0] if errors else ""
        allowed = _ALLOWED.get(kind)
        value = f" {given!r}" if given is not None else ""
        if allowed:
            return f"{opts[-1]}{value} is invalid: {allowed} is allowed. See `{command} --help`."
        return f"{opts[-1]}{value} is invalid: {message}. See `{command} --help`."
    return f"{message} See `{command} --help`."


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `ilm` console script."""
    try:
        from ilm_core import process

        process.setup()  # before torch starts OpenMP: its wait policy is read only then (ilm_threads)
        code = build_app()(args=argv, prog_name="ilm", standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)  # as typer's own standalone mode ends
    except typer.Abort:
        Console(stderr=True).print("aborted")
        sys.exit(1)
    except typer.TyperException as exc:  # a command-line mistake: the project's one paragraph, not typer's box
        if type(exc).__name__ == "NoArgsIsHelpError":  # plain `ilm` or `ilm COMMAND` that needs arguments
            cast(Any, exc).show()  # typer's NoArgsIsHelpError prints the help
            sys.exit(exc.exit_code)
        err = Console(stderr=True, soft_wrap=True)
        err.print(Text("error: ", style="bold red") + Text(usage_error(exc, sys.argv[1:] if argv is None else argv)))
        sys.exit(2)
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
