"""`ilm sweep`: a grid over seeds, one run directory each; --seeds overrides the config's."""

from __future__ import annotations

import json

import pytest

TINY_SETS = [
    "--set", "student.updates=2", "--set", "student.dim=16", "--set", "student.ffn=32",
    "--set", "environment.pool_size=20", "--set", "environment.teacher_corpus_size=10",
    "--set", "environment.exam_bank_size=20", "--set", "environment.heldout_size=5",
    "--set", "episodes=2", "--set", "budget=3",
]  # fmt: skip


def test_sweep_runs_every_grid_point_for_every_seed_and_reuses_finished_runs(cli, tmp_path):
    config = tmp_path / "sweep.toml"
    config.write_text('teacher = "random"\n[sweep]\nseeds = [1, 2]\ngrid = { n_students = [1, 2] }\n')
    out = tmp_path / "sweep"
    code, _, err = cli("sweep", "--config", str(config), "--seeds", "3", *TINY_SETS, "--out", str(out))
    assert code == 0, err
    runs = sorted(p.parent.relative_to(out).as_posix() for p in out.rglob("summary.json"))
    assert runs == ["n_students-1/seed-3", "n_students-2/seed-3"]
    students = json.loads((out / "n_students-2" / "seed-3" / "config.json").read_text())["n_students"]
    assert students == 2
    before = (out / "n_students-1" / "seed-3" / "metrics.jsonl").read_bytes()
    code, _, err = cli("sweep", "--config", str(config), "--seeds", "3", *TINY_SETS, "--out", str(out))
    assert code == 0, err
    assert (out / "n_students-1" / "seed-3" / "metrics.jsonl").read_bytes() == before  # reused, not rerun


def test_sweep_without_seeds_uses_the_configs(cli, tmp_path):
    config = tmp_path / "sweep.toml"
    config.write_text('teacher = "random"\n[sweep]\nseeds = [5]\n')
    code, _, err = cli("sweep", "--config", str(config), *TINY_SETS, "--out", str(tmp_path / "s"))
    assert code == 0, err
    assert [p.parent.name for p in (tmp_path / "s").rglob("summary.json")] == ["seed-5"]


def test_bad_grid_is_a_clear_error(cli, tmp_path):
    code, _, err = cli("sweep", "--grid", "students", "--out", str(tmp_path / "s"))
    assert code == 2 and "--grid 'students'" in err


@pytest.mark.slow  # worker processes
def test_sweep_with_two_jobs_gives_the_same_runs_and_per_setting_summary_as_one_at_a_time(cli, tmp_path):
    """Two worker processes at once: the same records and per-setting figures as the sequential sweep."""
    args = ["--grid", "n_students=1,2", "--seeds", "3,4", "--set", "teacher.name=random", *TINY_SETS]
    out = {}
    for jobs in ("1", "2"):
        out[jobs] = tmp_path / f"jobs-{jobs}"
        code, stdout, err = cli("sweep", *args, "--jobs", jobs, "--out", str(out[jobs]))
        assert code == 0, err
        assert "per setting" in stdout
    summaries = [json.loads((out[j] / "sweep-summary.json").read_text()) for j in ("1", "2")]
    assert summaries[0] == summaries[1]
    assert [row["setting"] for row in summaries[0]] == ["n_students-1", "n_students-2"]
    assert summaries[0][1]["seeds"] == [3, 4]
    for run in sorted(out["1"].rglob("metrics.jsonl")):
        twin = out["2"] / run.relative_to(out["1"])
        strip = [{k: v for k, v in json.loads(x).items() if k != "seconds"} for x in run.read_text().splitlines()]
        assert strip == [
            {k: v for k, v in json.loads(x).items() if k != "seconds"} for x in twin.read_text().splitlines()
        ]


@pytest.mark.slow  # worker processes
def test_an_interrupted_parallel_sweep_resumes(cli, tmp_path):
    """A run left half done (as a killed worker leaves it) is finished by the next sweep, the rest reused."""
    args = ["--seeds", "3,4", "--set", "teacher.name=random", *TINY_SETS, "--out", str(tmp_path / "s")]
    code, _, err = cli("sweep", *args, "--jobs", "2")
    assert code == 0, err
    partial = tmp_path / "s" / "default" / "seed-4"
    (partial / "summary.json").unlink()
    lines = (partial / "metrics.jsonl").read_text().splitlines()
    (partial / "metrics.jsonl").write_text(lines[0] + "\n")
    done = (tmp_path / "s" / "default" / "seed-3" / "metrics.jsonl").read_bytes()
    code, _, err = cli("sweep", *args, "--jobs", "2")
    assert code == 0, err
    assert (partial / "summary.json").exists() and len((partial / "metrics.jsonl").read_text().splitlines()) == 2
    assert (tmp_path / "s" / "default" / "seed-3" / "metrics.jsonl").read_bytes() == done
