"""What a new user and a plugin author met in their first hour with ilm, kept fixed."""

from __future__ import annotations

import importlib.metadata
import json
import re
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import TINY

from ilm_core import Registry, TeacherSpec, hookimpl
from ilm_core.errors import PluginError, UnknownPluginError
from ilm_report.runs import find_runs, group_settings

ROOT = Path(__file__).resolve().parents[1]


# -- a new user ----------------------------------------------------------------------------
def test_version(cli):
    code, out, _ = cli("--version")
    assert code == 0 and out.strip() == f"ilm {importlib.metadata.version('ilm')}"


def test_plugins_at_80_columns_keeps_words_whole_and_install_hints_intact(cli, registry, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    code, out, err = cli("plugins")
    assert code == 0, err
    assert max(len(line) for line in out.splitlines()) <= 80
    words = set(out.replace(",", " ").split())
    for spec in registry.all_specs():
        assert spec.name in words
        assert set(spec.roadmap) <= words, spec.roadmap  # no road-map id split across lines
        assert set(spec.summary.replace(",", " ").split()) <= words, spec.summary
        if spec.missing_requirements() and spec.install_hint:
            assert spec.install_hint in out  # e.g. pip install -e '.[fairseq]': not eaten as markup


@pytest.fixture
def lazy_broken(tmp_path, monkeypatch) -> Iterator[Registry]:
    """The installed plugins plus one whose lazy factory module has a syntax error."""
    (tmp_path / "ilm_first_hour_broken.py").write_text("def oops(:\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    class Lazy:
        @staticmethod
        @hookimpl
        def ilm_teachers():
            yield TeacherSpec(name="lazy-broken", summary="imports only when built", factory="ilm_first_hour_broken:T")

    registry = Registry()
    registry.load_entry_points()
    registry.register(Lazy, name="lazy-plugin")
    monkeypatch.setattr("ilm_core.cli.plugins_cmd.default_registry", lambda: registry)
    yield registry
    sys.modules.pop("ilm_first_hour_broken", None)


def test_plugins_check_imports_every_factory(cli, lazy_broken):
    code, out, err = cli("plugins", "--json")
    assert code == 0, err
    assert {r["name"]: r["status"] for r in json.loads(out)}["lazy-broken"] == "ok"  # not imported: looks fine
    code, out, err = cli("plugins", "--check", "--json")
    assert code == 2
    row = {r["name"]: r for r in json.loads(out)}["lazy-broken"]
    assert row["status"] == "broken" and "SyntaxError" in row["reason"] and "ilm_first_hour_broken:T" in row["reason"]
    assert "installed but broken" in err and "teacher 'lazy-broken'" in err and "Traceback" not in err


def test_plugins_check_passes_when_every_plugin_imports(cli):
    code, out, err = cli("plugins", "--check", "--json")
    assert code == 0, err
    assert "broken" not in {r["status"] for r in json.loads(out)}


def test_a_broken_plugin_is_not_reported_as_an_unknown_name():
    class Broken:
        @staticmethod
        @hookimpl
        def ilm_teachers():
            raise ImportError("No module named 'scipy'")

    registry = Registry()
    registry.load_entry_points()
    registry.register(Broken, name="my-teacher", distribution="ilm-my-teacher")
    registry.all_specs()  # loading records notes the broken plugin
    with pytest.raises(PluginError) as info:
        registry.get("teacher", "my-teacher")
    message = str(info.value)
    assert "installed but broken" in message and "ilm-my-teacher" in message and "scipy" in message
    assert "unknown teacher" not in message
    with pytest.raises(UnknownPluginError, match=r"unknown teacher 'selectbin'.*'my-teacher' \(from ilm-my-teacher\)"):
        registry.get("teacher", "selectbin")  # a typo is still a typo, with the broken plugin mentioned


def test_new_plugin_fills_every_placeholder(cli, tmp_path):
    for kind in ("teacher", "environment", "interaction"):
        code, _, err = cli("new-plugin", f"my-{kind}", "--kind", kind, "--out", str(tmp_path))
        assert code == 0, err
        for path in (tmp_path / f"ilm-my-{kind}").rglob("*"):
            if path.is_file():
                assert "${" not in path.read_text(), path
        assert (
            f"--{kind if kind != 'environment' else 'env'} my-{kind}"
            in (tmp_path / f"ilm-my-{kind}" / "README.md").read_text()
        )


# -- one run, reported -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def one_run(tmp_path_factory) -> Path:
    from ilm_core.cli import main

    out = tmp_path_factory.mktemp("first-hour") / "runs" / "mine"
    with pytest.raises(SystemExit) as done:
        main(["run", *TINY, "--episodes", "2", "--out", str(out)])
    assert done.value.code in (0, None)
    return out


def test_the_summary_label_is_the_same_live_and_on_resume(cli, tmp_path):
    out = tmp_path / "r"
    args = [a for a in TINY if a != "--quiet"]
    code, live, err = cli("run", *args, "--episodes", "2", "--out", str(out))
    assert code == 0, err
    code, again, err = cli("run", "--resume", str(out))
    assert code == 0, err
    label = "fraction of exam-domain sentences sent (V1)"
    assert label in live and label in again


def test_report_stays_with_the_run_and_keeps_every_column_when_piped(cli, one_run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COLUMNS", raising=False)
    code, out, err = cli("report", str(one_run))
    assert code == 0, err
    assert not (tmp_path / "report").exists()
    assert (one_run / "report" / "report.json").is_file()
    headers = ("fraction from exam domain", "feedback ppl", "held-out ppl", "oracle held-out", "taught to the test")
    for header in headers:
        assert header in out, out  # no column folded or cut off by the 80 columns of a pipe
    assert "…" not in out


def test_one_runs_report_says_so_and_how_to_get_the_oracle_reference(cli, one_run, tmp_path):
    code, out, err = cli("report", str(one_run), "--out", str(tmp_path / "rep"))
    assert code == 0, err
    assert "mean ± std" not in out and "one run per setting" in out
    hint = " ".join(out.split())
    command = re.search(r"`(ilm run --config [^`]+)`", hint)
    assert "oracle reference: none" in hint and command
    code, _, err = cli(*shlex.split(command.group(1))[1:])  # the hint, run as given
    assert code == 0, err
    code, out, err = cli("report", str(one_run), f"{one_run}-oracle", "--out", str(tmp_path / "rep2"))
    assert code == 0, err
    assert "oracle reference: none" not in out
    row = json.loads((tmp_path / "rep2" / "report.json").read_text())["settings"]
    learner = next(r for r in row if r["teacher"] == "select-bin")
    assert learner["per_seed"][0]["oracle_heldout"] is not None


def test_one_runs_figure_has_plain_ticks_the_students_spread_and_a_legend_below_the_axis_labels(one_run):
    from ilm_report import figures as plots

    settings = group_settings(find_runs([one_run]))
    fig = plots.draw_figure2(settings, "V1")
    fig.canvas.draw()
    a, b = fig.axes
    assert "over its students" in fig._suptitle.get_text() and "over seeds" not in fig._suptitle.get_text()
    labels = [t.get_text() for t in a.get_yticklabels() + a.get_yticklabels(minor=True) if t.get_text()]
    assert labels and all(re.fullmatch(r"[0-9.]+", text) for text in labels), labels
    (band,) = a.collections  # the students' spread: a band of some height around the curve
    assert band.get_paths()[0].get_extents().height > 0
    (legend,) = fig.legends
    box = legend.get_window_extent()
    for ax in (a, b):
        assert box.y1 <= ax.xaxis.label.get_window_extent().y0, "the legend covers an axis label"


def test_the_readme_quick_start_is_two_readable_commands_that_say_what_they_leave_out():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", quick, re.S).group(1)
    commands = [c for c in block.replace("\\\n", " ").splitlines() if c.strip()]
    assert len(commands) == 2
    install, tests = commands
    assert "pip install torch==2.13.0" in install and "ilm run --teacher select-bin --env domains" in install
    assert "pytest" in tests
    assert max(len(line) for line in block.splitlines()) <= 100  # no one monstrous line
    prose = " ".join(quick.split())
    assert "pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu" in prose
    assert "[fairseq]" in prose and "skipped" in prose and "pip install -e '.[fairseq,test]'" in prose
