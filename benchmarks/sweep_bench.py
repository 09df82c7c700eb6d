"""`ilm sweep --jobs 2` against one run at a time: wall-clock ratio from one run of this script.

Each round runs the same Task 1 sweep (the CPU default config, the paper's five seeds, reduced
episodes) twice, as fresh `ilm sweep` processes into fresh folders: once with `--jobs 1`, once
with `--jobs N`. The teacher LMs come from a set-up cache warmed first, so both time the runs
themselves. It also checks that both give the same per-setting summary.

    python benchmarks/sweep_bench.py                  # 5 seeds, 5 episodes, --jobs 2, 1 round
    python benchmarks/sweep_bench.py --episodes 10 --rounds 2
    python benchmarks/sweep_bench.py --episodes 3 --set teacher.lm_updates=50   # quicker warm-up
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SEEDS = "6639,7519,1007,4520,4527"


def sweep(out: Path, jobs: int, episodes: int, seeds: str, cache: Path, sets: list[str]) -> float:
    env = {**os.environ, "ILM_CACHE_DIR": str(cache)}
    cmd = [
        sys.executable, "-c", "from ilm_core.cli import main; main()",
        "sweep", "--seeds", seeds, "--set", f"episodes={episodes}", "--jobs", str(jobs), "--out", str(out),
        *(x for item in sets for x in ("--set", item)),
    ]  # fmt: skip
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--episodes", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--seeds", default=SEEDS)
    ap.add_argument("--set", action="append", default=[], dest="sets", help="override for every run (repeatable)")
    args = ap.parse_args()
    before = os.getloadavg()
    print(f"load average before: {before[0]:.2f} {before[1]:.2f} {before[2]:.2f} on {os.cpu_count()} CPUs")
    ratios = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        sweep(root / "warm", 1, 1, args.seeds, root / "cache", args.sets)  # every seed's teacher LM into the cache
        for r in range(args.rounds):
            one = sweep(root / f"one-{r}", 1, args.episodes, args.seeds, root / "cache", args.sets)
            par = sweep(root / f"par-{r}", args.jobs, args.episodes, args.seeds, root / "cache", args.sets)
            same = json.loads((root / f"one-{r}" / "sweep-summary.json").read_text()) == json.loads(
                (root / f"par-{r}" / "sweep-summary.json").read_text()
            )
            ratios.append(one / par)
            print(
                f"round {r}: --jobs 1 {one:.1f} s, --jobs {args.jobs} {par:.1f} s, "
                f"speed-up {one / par:.2f}x, same per-setting summary: {same}",
                flush=True,
            )
    after = os.getloadavg()
    print(f"load average after: {after[0]:.2f} {after[1]:.2f} {after[2]:.2f}")
    print(f"median speed-up of --jobs {args.jobs} over one at a time: {statistics.median(ratios):.2f}x")


if __name__ == "__main__":
    main()
