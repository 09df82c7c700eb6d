"""The set-up cache: a run's set-up time with a cold cache, then the same config again (warm).

Runs `ilm run` (the CPU default config, reduced episodes) twice with a fresh cache folder and
prints both set-up times from summary.json, their ratio, and whether metrics.jsonl is the same
(every field but the wall-clock seconds).

    python benchmarks/cache_bench.py                   # 3 episodes
    python benchmarks/cache_bench.py --episodes 40
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path


def run(out: Path, cache: Path, episodes: int) -> tuple[dict, list[dict]]:
    env = {**os.environ, "ILM_CACHE_DIR": str(cache)}
    cmd = [
        sys.executable, "-c", "from ilm_core.cli import main; main()",
        "run", "--teacher", "select-bin", "--env", "domains", "--episodes", str(episodes), "--out", str(out), "--quiet",
    ]  # fmt: skip
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    records = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines() if x.strip()]
    return json.loads((out / "summary.json").read_text()), [
        {k: v for k, v in r.items() if k != "seconds"} for r in records
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--episodes", type=int, default=3)
    args = ap.parse_args()
    load = os.getloadavg()
    print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cold, cold_records = run(root / "cold", root / "cache", args.episodes)
        warm, warm_records = run(root / "warm", root / "cache", args.episodes)
    c, w = cold["setup_seconds"], warm["setup_seconds"]
    print(f"set-up, cold cache: {c:.2f} s ({cold['setup']})")
    print(f"set-up, warm cache: {w:.2f} s ({warm['setup']})")
    print(f"set-up {c / w:.1f}x shorter with the cache; metrics.jsonl identical: {cold_records == warm_records}")
    load = os.getloadavg()
    print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
