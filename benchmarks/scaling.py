"""Scaling on one machine, from one run: a 5-seed Task 1 sweep with `--jobs 2` against one run
at a time, and the `ray` executor's student-updates per second against `batched`.

Part 1 runs `ilm sweep` over the paper's five seeds twice, one run at a time and `--jobs 2`
(the cores split between the jobs), each into a fresh folder, and prints the wall-clock times,
their ratio and whether the two sweeps' per-run summaries agree. Part 2 is `ilm bench
--executors batched,ray`: the same students trained by both executors in interleaved rounds
(after one untimed warm-up each, so Ray's start-up is not counted), the median seconds of one
episode's student work, student-updates per second, and the median of the per-round ratios.

    python benchmarks/scaling.py                                  # Task 1 CPU config, 40 episodes
    python benchmarks/scaling.py --episodes 10 --repeats 3        # shorter (say so when quoting)
    python benchmarks/scaling.py --skip-sweep                     # part 2 only
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEEDS = "6639,7519,1007,4520,4527"
#: summary fields that must not depend on how the sweep ran
SAME = ("fraction_exam_domain_last", "perplexity_last", "heldout_perplexity_last", "reward_last", "config_sha")


def sweep(folder: Path, jobs: int, episodes: int | None) -> tuple[float, dict[str, dict]]:
    """Wall seconds of one `ilm sweep`, and each run's summary by its path in the sweep."""
    args = ["sweep", "--config", str(ROOT / "configs/task1-cpu.toml")]
    args += ["--seeds", SEEDS, "--out", str(folder), "--jobs", str(jobs)]
    if episodes is not None:
        args += ["--set", f"episodes={episodes}"]
    start = time.perf_counter()
    ilm(*args, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    summaries = {
        str(p.parent.relative_to(folder)): json.loads(p.read_text()) for p in sorted(folder.rglob("summary.json"))
    }
    return seconds, summaries


def part_sweep(episodes: int | None) -> None:
    with tempfile.TemporaryDirectory(prefix="ilm-scaling-") as tmp:
        one_s, one = sweep(Path(tmp) / "one", 1, episodes)
        two_s, two = sweep(Path(tmp) / "two", 2, episodes)
    same = one.keys() == two.keys() and all(
        {k: one[r].get(k) for k in SAME} == {k: two[r].get(k) for k in SAME} for r in one
    )
    length = f"{episodes} episodes" if episodes is not None else "the config's 40 episodes"
    print(f"## Task 1 sweep, 5 seeds, {length} each (configs/task1-cpu.toml)\n")
    print("| how | wall seconds | runs |")
    print("|---|---|---|")
    print(f"| one run at a time | {one_s:.1f} | {len(one)} |")
    print(f"| --jobs 2 | {two_s:.1f} | {len(two)} |")
    print(f"\none at a time / --jobs 2 = {one_s / two_s:.2f}x; the runs' summaries are the same: {same}\n")


def ilm(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from ilm_core.cli import main; main()", *args], check=True, **kwargs)


def part_ray(students: int, updates: int, repeats: int) -> None:
    with tempfile.TemporaryDirectory(prefix="ilm-scaling-") as tmp:
        path = Path(tmp) / "bench.json"
        ilm(
            "bench", "--executors", "batched,ray", "--students", str(students), "--updates", str(updates),
            "--repeats", str(repeats), "--json", str(path), stdout=subprocess.DEVNULL,
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
    ap.add_argument("--episodes", type=int, default=None, help="episodes per sweep run (default: the config's)")
    ap.add_argument("--students", type=int, default=12)
    ap.add_argument("--updates", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=5, help="timed rounds of the executor comparison")
    ap.add_argument("--skip-sweep", action="store_true")
    ap.add_argument("--skip-ray", action="store_true")
    args = ap.parse_args()
    if not args.skip_sweep:
        part_sweep(args.episodes)
    if not args.skip_ray:
        part_ray(args.students, args.updates, args.repeats)


if __name__ == "__main__":
    main()
