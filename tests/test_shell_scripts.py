"""The shell scripts a user runs (the studies, CI) parse: a stray line in a comment block is a
syntax error that stops a study before its first run."""

from __future__ import annotations

import shutil
import subprocess
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
