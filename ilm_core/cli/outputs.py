"""Checking where a command will write before it does the work (not after minutes of it)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from rich.console import Console

from ilm_core.errors import ConfigError


def _probe(folder: Path, option: str, path: Path) -> None:
    """Create and remove a file in `folder`: the only test of writability that holds for every user."""
    probe = folder / f".ilm-write-test-{uuid.uuid4().hex[:8]}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        reason = exc.strerror or exc
        raise ConfigError(f"{option} {path}: cannot write in {folder} ({reason}); choose another path") from None


def writable_folder(path: Path, option: str = "--out") -> Path:
    """Make the output folder `path` (with its parents) and check that files can be written in it."""
    if str(path) == "":
        raise ConfigError(f"{option} is empty; give the folder to write into")
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{option} {path} is an existing file, not a folder; give a folder (it is created if needed)")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = exc.strerror or exc
        raise ConfigError(f"{option} {path}: cannot create the folder ({reason}); choose another path") from None
    _probe(path, option, path)
    return path


def writable_file(path: Path, option: str) -> Path:
    """Check that the file `path` can be written (its folder exists and takes files; it is not a folder)."""
    if str(path) == "" or path.is_dir():
        raise ConfigError(f"{option} {path or repr('')} names a folder; give the path of a file to write")
    folder = path.parent
    if not folder.is_dir():
        raise ConfigError(f"{option} {path}: the folder {folder} does not exist (or is a file); create it first")
    if path.exists() and not os.access(path, os.W_OK):
        raise ConfigError(f"{option} {path} exists and cannot be overwritten; choose another path")
    _probe(folder, option, path)
    return path


def table_console() -> Console:
    """A console for tables: a terminal's own width, and wide enough, when piped, to keep every column."""
    console = Console()
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(width=200)
    return console
