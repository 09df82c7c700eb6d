"""`benchmarks/step_breakdown.py`, the command docs/busy-machines.md quotes, runs on the model it times."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "step_breakdown.py"


@pytest.fixture(scope="module")
def out() -> str:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--students", "2", "--repeats", "3", "--variants", "--pair", "--ops"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout


def test_the_step_breakdown_times_every_part_of_an_update_and_the_parts_fit_in_the_whole(out: str) -> None:
    ms = {m[1].strip(): float(m[2]) for m in re.finditer(r"^\s+([a-zA-Z][^\d\n]*?)\s+(\d+\.\d+)", out, re.M)}
    parts = ["matmul ffn", "matmul qkv", "matmul out", "matmul logits", "attention (SDPA + layout)"]
    parts += ["cross-entropy", "layer norms", "relu", "embeddings"]
    assert set(parts) <= set(ms), out
    assert {"forward (no grad)", "backward", "clip per student", "fused AdamW", "whole update"} <= set(ms), out
    assert all(ms[p] > 0 for p in parts), out
    assert ms["forward (no grad)"] < ms["whole update"], out
    assert "2 students x" in out and "GFLOP/s" in out


def test_the_pair_of_lanes_is_timed_as_threads_and_as_processes_against_one_lane_alone(out: str) -> None:
    pair = out[out.index("two lanes at once") :]
    rows = {
        m[1]: (float(m[2]), float(m[3]))
        for m in re.finditer(
            r"^  (alone|two threads|two processes)\s+(\d+\.\d+) ms per update\s+(\d+\.\d+)x alone", pair, re.M
        )
    }
    assert set(rows) == {"alone", "two threads", "two processes"}, pair
    assert rows["alone"][1] == 1.0, pair
    for ms, ratio in rows.values():
        assert ms > 0 and abs(ratio - ms / rows["alone"][0]) < 0.01, pair


def test_the_two_other_ways_to_compute_the_update_are_timed_against_eager(out: str) -> None:
    """Each variant computes the same update with other roundings: the losses agree to well under a
    percent of the summed loss (about 2 x ln(vocabulary) at the start) over the updates timed."""
    found = re.findall(r"eager update\s+(\d+\.\d+) ms, (math attention|real tokens)\s+(\d+\.\d+) ms: (\d+\.\d+)x", out)
    assert [name for _, name, _, _ in found] == ["math attention", "real tokens"], out
    for eager, _, other, ratio in found:
        assert abs(float(ratio) - float(eager) / float(other)) < 0.01, out
    drifts = [float(x) for x in re.findall(r"(\d\.\d+e[-+]\d+) at most over 11 updates", out)]
    assert len(drifts) == 2 and all(d < 0.05 for d in drifts), out


def test_the_operations_are_listed_by_their_share_and_the_three_groups_add_up_to_the_whole(out: str) -> None:
    ops = out[out.index("operations of 3 updates under the profiler") :]
    shares = [float(x) for x in re.findall(r"^  (?!=)\S.*?(\d+\.\d)%$", ops, re.M)]
    groups = dict(re.findall(r"^  = (.+?)\s+(\d+\.\d)%$", ops, re.M))
    assert len(shares) == 12 and shares == sorted(shares, reverse=True), ops
    assert set(groups) == {"matrix products", "attention (SDPA)", "everything else"}, ops
    assert abs(sum(float(v) for v in groups.values()) - 100.0) < 0.2, ops
    assert float(groups["matrix products"]) > 0 and float(groups["attention (SDPA)"]) > 0, ops
