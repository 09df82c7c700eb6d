"""`ilm sweep`: a grid over seeds, one run directory each; --seeds overrides the config's."""

from __future__ import annotations

import json

TINY_SETS = [
    "--set", "student.updates=2", "--set", "student.dim=16", "--set", "student.ffn=32",
    "--set", "environment.pool_size=20", "--set", "environment.teacher_corpus_size=10",
    "--set", "environment.exam_bank_size=20", "--set", "environment.heldout_size=5",
    "--set", "episodes=2", "--set", "budget=3",
]  # fmt: skip


def test_sweep_runs_every_grid_point_for_every_seed_and_reuses_finished_runs(cli, tmp_path):
    config = tmp_path / "sweep.toml"
    config.write_text('teacher = "random"\n[sweep]\nseeds = [1, 2]\ngrid = { students = [1, 2] }\n')
    out = tmp_path / "sweep"
    code, _, err = cli("sweep", "--config", str(config), "--seeds", "3", *TINY_SETS, "--out", str(out))
    assert code == 0, err
    runs = sorted(p.parent.relative_to(out).as_posix() for p in out.rglob("summary.json"))
    assert runs == ["students-1/seed-3", "students-2/seed-3"]
    students = json.loads((out / "students-2" / "seed-3" / "config.json").read_text())["students"]
    assert students == 2
    before = (out / "students-1" / "seed-3" / "metrics.jsonl").read_bytes()
    code, _, err = cli("sweep", "--config", str(config), "--seeds", "3", *TINY_SETS, "--out", str(out))
    assert code == 0, err
    assert (out / "students-1" / "seed-3" / "metrics.jsonl").read_bytes() == before  # reused, not rerun


def test_sweep_without_seeds_uses_the_configs(cli, tmp_path):
    config = tmp_path / "sweep.toml"
    config.write_text('teacher = "random"\n[sweep]\nseeds = [5]\n')
    code, _, err = cli("sweep", "--config", str(config), *TINY_SETS, "--out", str(tmp_path / "s"))
    assert code == 0, err
    assert [p.parent.name for p in (tmp_path / "s").rglob("summary.json")] == ["seed-5"]


def test_bad_grid_is_a_clear_error(cli, tmp_path):
    code, _, err = cli("sweep", "--grid", "students", "--out", str(tmp_path / "s"))
    assert code == 2 and "--grid 'students'" in err
