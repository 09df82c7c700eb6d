"""`ilm sweep --backend ray` on the session's local Ray: the same runs and per-setting summary as
a sweep run one at a time; an interrupted sweep resumes; unknown backends are named."""

from __future__ import annotations

import json

import pytest
from test_sweep import TINY_SETS

pytest.importorskip("ray")


def records(run) -> list[dict]:
    return [{k: v for k, v in json.loads(x).items() if k != "seconds"} for x in run.read_text().splitlines()]


@pytest.mark.slow
def test_a_ray_sweep_gives_the_runs_and_summary_of_one_at_a_time(cli, tmp_path, ray_local):
    args = ["--grid", "n_students=1,2", "--seeds", "3,4", "--set", "teacher.name=random", *TINY_SETS]
    out = {how: tmp_path / how for how in ("local", "ray")}
    for how, path in out.items():
        code, stdout, err = cli("sweep", *args, "--backend", how, "--out", str(path))
        assert code == 0, err
        assert "per setting" in stdout
    summaries = [json.loads((out[how] / "sweep-summary.json").read_text()) for how in ("local", "ray")]
    assert summaries[0] == summaries[1]
    assert [row["setting"] for row in summaries[0]] == ["n_students-1", "n_students-2"]
    runs = sorted(out["local"].rglob("metrics.jsonl"))
    assert len(runs) == 4
    for run in runs:
        assert records(run) == records(out["ray"] / run.relative_to(out["local"]))
    assert ray_local.is_initialized()  # the session's Ray: the sweep did not stop it

    partial = out["ray"] / "n_students-2" / "seed-4"  # as a killed worker leaves a run
    (partial / "summary.json").unlink()
    lines = (partial / "metrics.jsonl").read_text().splitlines()
    (partial / "metrics.jsonl").write_text(lines[0] + "\n")
    done = (out["ray"] / "n_students-1" / "seed-3" / "metrics.jsonl").read_bytes()
    code, _, err = cli("sweep", *args, "--backend", "ray", "--out", str(out["ray"]))
    assert code == 0, err
    assert records(partial / "metrics.jsonl") == records(out["local"] / "n_students-2" / "seed-4" / "metrics.jsonl")
    assert (out["ray"] / "n_students-1" / "seed-3" / "metrics.jsonl").read_bytes() == done  # reused


def test_an_unknown_backend_names_the_installed_ones(cli, tmp_path):
    code, _, err = cli(
        "sweep", "--set", "teacher.name=random", *TINY_SETS, "--backend", "slurm", "--out", str(tmp_path)
    )
    assert code == 2 and "Traceback" not in err
    assert "--backend 'slurm' is not a known backend; choose one of: local, ray" in " ".join(err.split())
