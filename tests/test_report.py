"""`ilm report` from run directories alone, and the "taught to the test" flag."""

from __future__ import annotations

import json
import math

import pytest
from conftest import TINY, TINY_ANY_TEACHER

from ilm_core.config import ExperimentConfig
from ilm_core.rundir import RunDir
from ilm_report.runs import find_runs, group_settings, mean_ci95, oracle_baselines, summary_rows


def fake_run(path, teacher, seed, feedback, heldout, fraction=0.5, episodes=12, lr=0.05):
    cfg = ExperimentConfig(seed=seed).model_dump(mode="json")
    cfg["teacher"] = {"name": teacher, "params": {"lr": lr} if teacher == "select-bin" else {}}
    rd = RunDir(path)
    rd.create()
    rd.write_config(cfg)
    for e in range(episodes):
        rd.append_metric(
            {
                "episode": e,
                "reward_mean": -feedback,
                "perplexity_mean": feedback,
                "heldout_perplexity_mean": heldout,
                "fraction_exam_domain": fraction,
                "overlap": {"unigram": 1.0, "bigram": 0.5, "trigram": 0.1},
                "seconds": 0.1,
            }
        )
    return path


def test_taught_to_the_test_flag_fires_on_a_gamed_run_only(tmp_path):
    fake_run(tmp_path / "oracle", "oracle", 1, feedback=20.0, heldout=20.0, fraction=1.0)
    fake_run(tmp_path / "gamed", "select-bin", 1, feedback=15.0, heldout=30.0, lr=0.05)
    fake_run(tmp_path / "clean", "select-bin", 1, feedback=21.0, heldout=21.0, lr=0.1)
    runs = find_runs([tmp_path])
    rows = {r["setting"]: r for r in summary_rows(group_settings(runs), oracle_baselines(runs))}
    flagged = {label for label, row in rows.items() if row["taught_to_the_test"]}
    assert len(flagged) == 1 and "0.05" in next(iter(flagged))
    clean = next(r for label, r in rows.items() if "0.1" in label)
    assert clean["taught_to_the_test"] == []
    assert clean["oracle_heldout"][0] == 20.0


@pytest.mark.slow
def test_report_makes_figures_and_a_table_from_two_tiny_runs(cli, tmp_path):
    for seed in ("1", "2"):
        code, _, err = cli("run", *TINY, "--seed", seed, "--out", str(tmp_path / "runs" / f"s{seed}"))
        assert code == 0, err
    code, _, err = cli(
        "run", *TINY_ANY_TEACHER, "--teacher", "oracle", "--seed", "1", "--out", str(tmp_path / "runs" / "oracle")
    )
    assert code == 0, err
    code, out, err = cli("report", str(tmp_path / "runs"), "--out", str(tmp_path / "report"))
    assert code == 0, err
    for name in ("figure2.png", "overlaps.png", "exams.png"):
        data = (tmp_path / "report" / name).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 10_000
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    learner = next(r for r in report["settings"] if r["teacher"] == "select-bin")
    assert learner["runs"] == 2 and len(learner["per_seed"]) == 2
    assert learner["per_seed"][0]["oracle_heldout"] is not None  # seed 1 has an oracle run
    assert "held-out" in out


def test_report_of_a_folder_without_runs_is_a_clear_error(cli, tmp_path):
    code, _, err = cli("report", str(tmp_path))
    assert code == 2 and "holds none" in err


def test_mean_ci95_is_the_t_interval_over_seeds():
    mean, half = mean_ci95([1.0, 2.0, 3.0])
    assert mean == 2.0 and math.isclose(half, 4.303 / math.sqrt(3), rel_tol=1e-6)  # sample std 1, 2 d.o.f.
    wide, narrow = mean_ci95([0.0, 1.0])[1], mean_ci95([0.0, 1.0] * 10)[1]
    assert narrow < wide  # more seeds, a narrower interval
    assert math.isnan(mean_ci95([5.0])[1]) and math.isnan(mean_ci95([None, math.nan])[0])


def test_summary_rows_carry_the_interval_of_each_figure(tmp_path):
    for seed, fraction in ((1, 0.2), (2, 0.4), (3, 0.6)):
        fake_run(tmp_path / f"s{seed}", "select-bin", seed, feedback=20.0, heldout=21.0, fraction=fraction, lr=0.05)
    (row,) = summary_rows(group_settings(find_runs([tmp_path])), {})
    mean, half = row["ci95"]["fraction"]
    assert math.isclose(mean, 0.4) and math.isclose(half, 4.303 * 0.2 / math.sqrt(3), rel_tol=1e-6)
    assert row["ci95"]["heldout"] == (21.0, 0.0)
