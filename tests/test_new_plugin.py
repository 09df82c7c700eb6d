"""`ilm new-plugin`: the package it writes installs, registers, shows on the road map and runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ilm_devkit.templates import SUPPORTED_KINDS

ILM = str(Path(sys.executable).with_name("ilm"))
#: a run of a second or two: few, small students on a small pool
TINY_RUN = [
    "--episodes", "2", "--students", "2", "--budget", "4", "--quiet",
    "--set", "student.updates=2", "--set", "student.dim=16", "--set", "student.ffn=32",
    "--set", "environment.pool_size=20", "--set", "environment.teacher_corpus_size=10",
    "--set", "environment.exam_bank_size=20", "--set", "environment.heldout_size=5",
]  # fmt: skip


def ilm(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "ILM_NO_PLUGINS"}
    return subprocess.run([ILM, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=300)


def pip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True, timeout=300)


@pytest.mark.slow
@pytest.mark.parametrize("kind", SUPPORTED_KINDS)
def test_writes_a_package_whose_own_tests_pass(cli, tmp_path: Path, kind: str):
    code, _, err = cli("new-plugin", f"my-{kind}", "--kind", kind, "--out", str(tmp_path))
    assert code == 0, err
    folder = tmp_path / f"ilm-my-{kind}"
    module = f"ilm_my_{kind}"
    assert {"pyproject.toml", "README.md", f"{module}/__init__.py", f"tests/test_{module}.py"} <= {
        str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()
    }
    assert f'my-{kind} = "{module}"' in (folder / "pyproject.toml").read_text()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=folder,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(folder)},
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("kind", SUPPORTED_KINDS)
def test_generated_tests_import_only_the_public_api_and_its_testing_helpers(cli, tmp_path: Path, kind: str):
    import ast

    assert cli("new-plugin", f"my-{kind}", "--kind", kind, "--out", str(tmp_path))[0] == 0
    test = tmp_path / f"ilm-my-{kind}" / "tests" / f"test_ilm_my_{kind}.py"
    imported = set()
    for node in ast.walk(ast.parse(test.read_text())):
        if isinstance(node, ast.ImportFrom):
            imported.add(node.module)
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
    assert {m for m in imported if m.startswith("ilm_core")} <= {"ilm_core", "ilm_devkit.testing"}
    assert "ilm_devkit.testing" in imported


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["My_Teacher", "--kind", "teacher"], "invalid plugin name"),
        (["my--teacher", "--kind", "teacher"], "invalid plugin name"),
        (["9lives", "--kind", "teacher"], "invalid plugin name"),
        (["my-exam", "--kind", "exam"], "supported kinds: teacher, environment, interaction, measure"),
    ],
)
def test_bad_input_exits_2(cli, tmp_path: Path, args: list[str], message: str):
    code, _, err = cli("new-plugin", *args, "--out", str(tmp_path))
    assert code == 2 and message in err
    assert list(tmp_path.iterdir()) == []


def test_existing_folder_exits_2(cli, tmp_path: Path):
    (tmp_path / "ilm-my-teacher").mkdir()
    code, _, err = cli("new-plugin", "my-teacher", "--kind", "teacher", "--out", str(tmp_path))
    assert code == 2 and "already exists" in err


@pytest.mark.slow
def test_installed_package_is_listed_on_the_roadmap_and_runs(cli, tmp_path: Path):
    assert cli("new-plugin", "my-teacher", "--kind", "teacher", "--out", str(tmp_path))[0] == 0
    folder = tmp_path / "ilm-my-teacher"
    installed = pip("install", "--no-deps", "--no-build-isolation", "-e", str(folder))
    try:
        assert installed.returncode == 0, installed.stderr
        plugins = json.loads(ilm("plugins", "--json").stdout)
        row = next(r for r in plugins if r["name"] == "my-teacher")
        assert (row["kind"], row["distribution"], row["status"]) == ("teacher", "ilm-my-teacher", "ok")

        roadmap = json.loads(ilm("roadmap", "--json").stdout)
        cell = next(c for c in roadmap["cells"] if c["id"] == "teacher.speaking.select-from-bin")
        assert {"kind": "teacher", "name": "my-teacher", "distribution": "ilm-my-teacher"} in cell["implemented_by"]

        run = ilm("run", "--teacher", "my-teacher", "--env", "domains", *TINY_RUN, "--out", str(tmp_path / "run"))
        assert run.returncode == 0, run.stdout + run.stderr
        assert (tmp_path / "run" / "summary.json").is_file()
    finally:
        pip("uninstall", "-y", "ilm-my-teacher")
