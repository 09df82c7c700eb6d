"""A plugin whose import fails is listed as broken, with its reason; ilm keeps working."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ILM = str(Path(sys.executable).with_name("ilm"))


@pytest.fixture
def broken_site(tmp_path: Path) -> Path:
    """A folder holding an installed-looking distribution whose `ilm` entry point cannot import."""
    info = tmp_path / "ilm_broken_example-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ilm-broken-example\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[ilm]\nbroken = broken_mod\n")
    (tmp_path / "broken_mod.py").write_text("import a_module_that_is_not_there_ilm  # noqa\n")
    return tmp_path


def ilm(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "ILM_NO_PLUGINS"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")]))
    return subprocess.run([ILM, *args], capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.slow
def test_broken_plugin_is_listed_and_the_rest_works(broken_site: Path):
    listed = ilm(broken_site, "plugins", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    broken = [r for r in rows if r["status"] == "broken"]
    assert len(broken) == 1
    assert broken[0]["name"] == "broken" and broken[0]["distribution"] == "ilm-broken-example"
    assert "ModuleNotFoundError" in broken[0]["reason"] and "a_module_that_is_not_there_ilm" in broken[0]["reason"]
    ok = {(r["kind"], r["name"]) for r in rows if r["status"] == "ok"}
    assert {("teacher", "select-bin"), ("environment", "domains"), ("student", "transformer-lm")} <= ok

    dry = ilm(broken_site, "run", "--dry-run", "--episodes", "2")
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["teacher"]["name"] == "select-bin"

    assert ilm(broken_site, "roadmap", "--json").returncode == 0


def test_syntax_error_is_a_broken_plugin_too(broken_site: Path):
    (broken_site / "broken_mod.py").write_text("def oops(:\n")
    rows = json.loads(ilm(broken_site, "plugins", "--json").stdout)
    (broken,) = [r for r in rows if r["status"] == "broken"]
    assert "SyntaxError" in broken["reason"]


def test_run_of_an_unknown_teacher_names_the_broken_plugin_and_its_syntax_error(broken_site: Path):
    """The teacher's name matches neither the entry point nor the distribution: still "unknown teacher",
    but the message says which plugin is broken and why (the error, its file and line)."""
    module = broken_site / "broken_mod.py"
    module.write_text("x = 1\ndef oops(:\n")
    done = ilm(broken_site, "run", "--teacher", "first-k", "--dry-run")
    assert done.returncode == 2
    message = " ".join(done.stderr.split())
    assert "unknown teacher 'first-k'" in message and "'broken' (from ilm-broken-example)" in message
    assert "SyntaxError" in message and f"{module}, line 2" in message and "Traceback" not in message
