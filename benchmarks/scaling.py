"""Scaling on one machine, from one run: a 5-seed Task 1 sweep with `--jobs 2` against one run
at a time, and the `ray` executor's student-updates per second against `batched`.

Part 1 is `benchmarks/sweep_bench.py` (the CPU default config, the paper's five seeds, reduced
episodes, teacher LMs from a warmed cache; `--jobs 1` then `--jobs 2` as fresh `ilm sweep`
processes; it checks that both give the same per-setting summary). Part 2 is `ilm bench
--executors batched,ray`: the same students trained by both executors in interleaved rounds
(after one untimed warm-up each, so Ray's start-up is not counted): median seconds of one
episode's student work, student-updates per second, and the median of the per-round ratios.

    python benchmarks/scaling.py                                  # 5 episodes per sweep run
    python benchmarks/scaling.py --episodes 2 --set teacher.lm_updates=50 --repeats 3
    python benchmarks/scaling.py --skip-sweep                     # part 2 only
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def part_sweep(episodes: int, sets: list[str]) -> None:
    print(f"## Task 1 sweep, 5 seeds, {episodes} episodes each: --jobs 2 against one at a time\n", flush=True)
    extra = [x for item in sets for x in ("--set", item)]
    command = [sys.executable, str(HERE / "sweep_bench.py"), "--episodes", str(episodes), *extra]
    subprocess.run(command, check=True)
    print(flush=True)


def part_ray(students: int, updates: int, repeats: int) -> None:
    with tempfile.TemporaryDirectory(prefix="ilm-scaling-") as tmp:
        path = Path(tmp) / "bench.json"
        subprocess.run(
            [
                sys.executable, "-c", "from ilm_core.cli import main; main()",
                "bench", "--executors", "batched,ray", "--students", str(students), "--updates", str(updates),
                "--repeats", str(repeats), "--json", str(path),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        batched, ray = json.loads(path.read_text())
    ratios = [b / r for b, r in zip(batched["seconds_all"], ray["seconds_all"], strict=True)]
    print(f"## ray vs batched: {students} students, {updates} updates, {repeats} interleaved rounds\n")
    print("| executor | seconds (median) | student-updates/s |")
    print("|---|---|---|")
    for row in (batched, ray):
        print(f"| {row['description']} | {row['seconds']:.3f} | {row['updates_per_second']:.1f} |")
    print(
        f"\nray's speed / batched's, per round: median {statistics.median(ratios):.2f} "
        f"(range {min(ratios):.2f}-{max(ratios):.2f}); below 1 is Ray's overhead\n"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--episodes", type=int, default=5, help="episodes per sweep run")
    ap.add_argument("--set", action="append", default=[], dest="sets", help="override for every sweep run")
    ap.add_argument("--students", type=int, default=12)
    ap.add_argument("--updates", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=5, help="timed rounds of the executor comparison")
    ap.add_argument("--skip-sweep", action="store_true")
    ap.add_argument("--skip-ray", action="store_true")
    args = ap.parse_args()
    if not args.skip_sweep:
        part_sweep(args.episodes, args.sets)
    if not args.skip_ray:
        part_ray(args.students, args.updates, args.repeats)


if __name__ == "__main__":
    main()
