"""Every `ilm run` and `ilm sweep` command the docs give beside a figure, or as a step to follow,
still names configs, plugins and fields that exist: each is checked with `ilm run --dry-run` (a
sweep as one dry run per point of its grid), which validates the whole config without training."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(
    [
        ROOT / "README.md",
        *ROOT.glob("docs/*.md"),
        *ROOT.glob("roadmap/studies/*.yaml"),
        *ROOT.glob("benchmarks/*.md"),
        *ROOT.glob("experiments/*.md"),
    ]
)
COMMAND = re.compile(r"(?:^\s*|`|\$ )(ilm (?:run|sweep)\s[^`\n|;]*)")
#: options of `ilm sweep` (or of where a run writes) that a dry run of its config does not take
NOT_CONFIG = {"--out", "--jobs", "--seeds", "--backend", "--bench", "--tracker"}
#: the docs' examples of a user's own plugin or config, which this repository does not ship
EXAMPLES = {"first-k", "my-teacher", "configs/my-study.toml"}


def doc_commands() -> list[tuple[str, str]]:
    found: dict[str, str] = {}
    for path in SOURCES:
        for line in path.read_text(encoding="utf-8").replace("\\\n", " ").splitlines():
            for match in COMMAND.finditer(line):
                command = re.sub(r"\s+#.*$", "", match.group(1)).strip().rstrip(".,)")
                found.setdefault(command, str(path.relative_to(ROOT)))
    return sorted(found.items())


def dry_runs(command: str) -> list[list[str]] | None:
    """The `ilm run --dry-run` arguments that check `command`; None for a placeholder, not a command."""
    words = shlex.split(command)[2:]
    placeholder = any(w == "..." or (w.isupper() and len(w) > 2) for w in words)
    cut = bool(words) and words[-1].startswith("--") and words[-1] not in ("--quiet", "--dry-run")  # a wrapped line
    if placeholder or cut or "--resume" in words or not words:
        return None
    if EXAMPLES & set(words):
        return None
    args, grid, i = [], [], 0
    while i < len(words):
        if words[i] in NOT_CONFIG:
            i += 2
        elif words[i] == "--grid":
            grid.append(words[i + 1])
            i += 2
        else:
            if words[i] not in ("--dry-run", "--quiet"):
                args.append(words[i])
            i += 1
    runs = [args]
    for axis in grid:
        key, _, values = axis.partition("=")
        runs = [[*run, "--set", f"{key}={value}"] for run in runs for value in values.split(",")]
    return runs


#: the commands to check: placeholders and the docs' examples of a user's own plugin left out
COMMANDS = [(command, where) for command, where in doc_commands() if dry_runs(command) is not None]


def test_the_docs_give_commands_to_check():
    assert len(COMMANDS) > 40
    assert any(c.startswith("ilm sweep") and "--grid" in c for c, _ in COMMANDS)
    assert dry_runs("ilm run --resume DIR") is None and dry_runs("ilm run ... --episodes 1") is None
    assert dry_runs("ilm sweep --config c.toml --grid") is None  # a command wrapped onto the next line
    assert dry_runs("ilm sweep --config c.toml --grid a=1,2 --out runs/x") == [
        ["--config", "c.toml", "--set", "a=1"],
        ["--config", "c.toml", "--set", "a=2"],
    ]


@pytest.mark.parametrize(("command", "where"), COMMANDS, ids=[c for c, _ in COMMANDS])
def test_a_documented_command_still_resolves(cli, monkeypatch, command: str, where: str):
    monkeypatch.chdir(ROOT)
    for args in dry_runs(command) or []:
        code, _, err = cli("run", *args, "--dry-run")
        if code != 0 and "is unavailable" in err:
            pytest.skip(f"needs an optional extra: {' '.join(err.split())[:200]}")
        assert code == 0, f"{where}: `{command}` no longer resolves:\n{err}"
