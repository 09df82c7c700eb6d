"""`ilm inspect`: a run's teacher rebuilt from its last checkpoint, its pool ranking shown and saved."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import TINY, TINY_ANY_TEACHER

from ilm_core.config import assemble, resolve
from ilm_core.loop import Experiment
from ilm_core.rundir import RunDir
from ilm_devkit.inspection import inspect_teacher


def _tiny_config(registry, teacher: str, *extra: str):
    sets = [TINY[i + 1] for i, x in enumerate(TINY) if x == "--set"] if teacher == "select-bin" else []
    sets += [TINY_ANY_TEACHER[i + 1] for i, x in enumerate(TINY_ANY_TEACHER) if x == "--set"]
    flags = {"teacher": teacher, "environment": "structures", "episodes": 4, "n_students": 3, "budget": 4, "seed": 5}
    return resolve(assemble(None, flags, [*dict.fromkeys(sets), *extra]), registry)


@pytest.mark.parametrize("teacher", ["value-bandit", "select-bin"])
def test_inspect_shows_what_the_runs_teacher_ended_with(registry, tmp_path, teacher):
    experiment = Experiment(_tiny_config(registry, teacher), registry, RunDir(tmp_path / "run"))
    experiment.run()
    final = experiment.teacher.preferences()

    view = inspect_teacher(tmp_path / "run", registry)

    assert view.episode == 4
    assert view.preferences.values == final.values  # rebuilt exactly: setup + checkpoint
    ranking = view.ranking()
    assert sorted(row["pool_index"] for row in ranking) == list(range(len(view.data.pool)))
    values = [row["value"] for row in ranking]
    assert values == sorted(values, reverse=True)
    for row in ranking:
        assert row["exam_domain"] == view.data.pool_in_exam_domain[row["pool_index"]]
    assert view.exam_domain_in_top(4) == sum(row["exam_domain"] for row in ranking[:4])
    if teacher == "value-bandit":
        assert view.preferences.std is not None and all(s > 0 for s in view.preferences.std)


def test_inspect_cli_prints_the_top_and_writes_the_whole_ranking(cli, tmp_path):
    run = tmp_path / "run"
    code, _, err = cli("run", "--teacher", "value-bandit", "--env", "structures", *TINY_ANY_TEACHER, "--out", str(run))
    assert code == 0, err
    code, out, err = cli("inspect", str(run), "--top", "3", "--json", str(tmp_path / "ranking.json"))
    assert code == 0, err
    saved = json.loads((tmp_path / "ranking.json").read_text())
    assert saved["teacher"] == "value-bandit" and saved["episode"] == 3 and saved["budget"] == 4
    assert len(saved["ranking"]) == 20  # the whole pool, not just the --top shown
    for row in saved["ranking"][:3]:
        assert row["sentence"] in out
    assert f"{saved['exam_domain_in_top_budget']} of the 4 most favoured sentences" in out


def test_inspect_refuses_a_teacher_without_preferences(cli, tmp_path):
    run = tmp_path / "run"
    code, _, err = cli("run", "--teacher", "random", "--env", "structures", *TINY_ANY_TEACHER, "--out", str(run))
    assert code == 0, err
    code, _, err = cli("inspect", str(run))
    assert code == 2
    assert "'random'" in err and "keeps no per-sentence preferences" in err
    assert "Traceback" not in err


def test_inspect_needs_a_checkpoint_and_a_run_directory(cli, tmp_path):
    run = tmp_path / "run"
    code, _, err = cli("run", "--teacher", "value-bandit", "--env", "structures", *TINY_ANY_TEACHER, "--out", str(run))
    assert code == 0, err
    shutil.rmtree(run / "checkpoints")
    code, _, err = cli("inspect", str(run))
    assert code == 2 and "holds no checkpoint yet" in err
    code, _, err = cli("inspect", str(tmp_path / "nowhere"))
    assert code == 2 and "is not a run directory" in err


def test_inspect_of_a_sweep_gives_one_line_per_run_and_skips_references(cli, tmp_path):
    for seed in ("1", "2"):
        code, _, err = cli(
            "run", "--teacher", "value-bandit", "--env", "structures", *TINY_ANY_TEACHER,
            "--seed", seed, "--out", str(tmp_path / "sweep" / f"seed-{seed}"),
        )  # fmt: skip
        assert code == 0, err
    code, _, err = cli("run", "--teacher", "oracle", *TINY_ANY_TEACHER, "--out", str(tmp_path / "sweep" / "oracle"))
    assert code == 0, err
    code, out, err = cli("inspect", str(tmp_path / "sweep"), "--json", str(tmp_path / "all.json"))
    assert code == 0, err
    saved = json.loads((tmp_path / "all.json").read_text())
    assert sorted(Path(d["run"]).name for d in saved) == ["seed-1", "seed-2"]
    assert "skipped" in out and "'oracle'" in out
    for d in saved:
        assert f"{d['exam_domain_in_top_budget']} of 4" in out


def test_preferences_of_the_wrong_shape_are_named_as_the_plugins_fault(registry, tmp_path, monkeypatch):
    from ilm_core.errors import PluginError
    from ilm_plugins.teachers.value_bandit import ValueBanditTeacher

    Experiment(_tiny_config(registry, "value-bandit"), registry, RunDir(tmp_path / "run")).run()
    monkeypatch.setattr(ValueBanditTeacher, "preferences", lambda self: {"values": [1.0, 2.0], "meaning": "x"})
    with pytest.raises(PluginError, match="'value-bandit' returned 2 preferences for a pool of 20"):
        inspect_teacher(tmp_path / "run", registry)
    monkeypatch.setattr(ValueBanditTeacher, "preferences", lambda self: {"values": "high"})
    with pytest.raises(PluginError, match="'value-bandit' returned preferences that are not a SentencePreferences"):
        inspect_teacher(tmp_path / "run", registry)
