"""The scripts a user runs: the shell scripts (the studies, CI) parse, where a stray line in a
comment block is a syntax error that stops a study before its first run; and every study and
benchmark script answers `--help`."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted([*ROOT.glob("experiments/*.sh"), *ROOT.glob("benchmarks/*.sh"), ROOT / ".ci" / "run"])


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_shell_script_parses(script: Path) -> None:
    done = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_the_parse_check_catches_a_line_left_out_of_a_comment(tmp_path: Path) -> None:
    broken = tmp_path / "study.sh"
    broken.write_text("#!/usr/bin/env bash\n# a comment that goes on\non a line without its hash (`oops`: here)\n")
    assert subprocess.run(["bash", "-n", str(broken)], capture_output=True).returncode != 0


#: the scripts (a module the scripts import, with no `__main__`, is not one)
PY_SCRIPTS = sorted(
    p
    for p in [*ROOT.glob("experiments/*.py"), *ROOT.glob("benchmarks/*.py")]
    if '__name__ == "__main__"' in p.read_text(encoding="utf-8")
)


@pytest.mark.parametrize("script", PY_SCRIPTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_study_and_benchmark_script_answers_help(script: Path, tmp_path: Path) -> None:
    """A user's first call is `--help`: it must say how to run the script, and do nothing else (run
    from an empty folder, so a script that ignored it could not overwrite the docs' data)."""
    done = subprocess.run(
        [sys.executable, str(script), "--help"], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert "usage" in done.stdout.lower()
    assert list(tmp_path.iterdir()) == [], "--help wrote files"
