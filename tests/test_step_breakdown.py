"""`benchmarks/step_breakdown.py`, the command docs/busy-machines.md quotes, runs on the model it times."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "step_breakdown.py"


def test_the_step_breakdown_times_every_part_of_an_update_and_the_parts_fit_in_the_whole():
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--students", "2", "--repeats", "3"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    ms = {m[1].strip(): float(m[2]) for m in re.finditer(r"^\s+([a-zA-Z][^\d\n]*?)\s+(\d+\.\d+)", out, re.M)}
    parts = ["matmul ffn", "matmul qkv", "matmul out", "matmul logits", "attention (SDPA + layout)"]
    parts += ["cross-entropy", "layer norms", "relu", "embeddings"]
    assert set(parts) <= set(ms), out
    assert {"forward (no grad)", "backward", "clip per student", "fused AdamW", "whole update"} <= set(ms), out
    assert all(ms[p] > 0 for p in parts), out
    assert ms["forward (no grad)"] < ms["whole update"], out
    assert "2 students x" in out and "GFLOP/s" in out
