"""Episode time on a quiet and on a busy machine, for each thread policy, from one run.

The benchmark makes its own load: `--load` busy processes (default three per core), each a
Python loop that spins until its deadline; it starts them before every loaded measurement,
ends them right after, and every one exits by itself within `--max-load-seconds` whatever
happens. Each measurement is a fresh `ilm run ... --quiet` process (the thread plan and the
OpenMP wait policy are fixed when a process starts) with the policy in `ILM_THREADS`:

- `old`: `ILM_THREADS=torch`, torch's own default (every core for every operation, OpenMP's
  default waits): torch's own defaults, without a thread plan;
- `auto`: the default plan (ilm_threads/policy.py);
- `1`: one thread in all, as `OMP_NUM_THREADS=1`;
- `2-passive`: two threads per operation with sleeping OpenMP waits (`ILM_THREADS=2`; on a
  2-core machine the same plan as `auto`, so not run by default).

Rounds interleave every (condition, policy) pair, so a shared machine's drift hits every row
alike. The teacher's LM comes from the set-up cache (warmed first), so the runs time episodes;
`--setup` adds a table of set-up time with the cache off (pretraining the teacher's LM).

    python benchmarks/load_bench.py                      # 2 and 12 students, 3 episodes, 2 rounds: old, auto, 1
    python benchmarks/load_bench.py --students 12 --episodes 5 --rounds 3 --setup
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

#: seconds a run needs before its first episode with a warm cache (imports), at most, on a busy machine
STARTUP_S = 15.0
POLICIES = {"old": "torch", "auto": "auto", "1": "1", "2-passive": "2"}
SPIN = "import time, sys\nend = time.monotonic() + float(sys.argv[1])\nwhile time.monotonic() < end:\n    pass\n"


class Load:
    """A fixed number of busy processes, each ending by itself after `seconds` at most."""

    def __init__(self, processes: int, seconds: float):
        self.processes, self.seconds = processes, seconds
        self.procs: list[subprocess.Popen] = []

    def __enter__(self) -> Load:
        self.procs = [subprocess.Popen([sys.executable, "-c", SPIN, str(self.seconds)]) for _ in range(self.processes)]
        time.sleep(0.5)  # let them reach the CPUs
        return self

    def __exit__(self, *exc: object) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs = []


def ilm_run(policy: str, students: int, episodes: int, out: Path, cache_dir: Path, cache: bool, timeout: float) -> dict:
    """One `ilm run` in a fresh process; its per-episode seconds, set-up seconds, plan and wall time.

    A run stopped at `timeout` counts as censored: its episode time is at least what the
    finished episodes took, and at least the time left after start-up spread over its episodes.
    """
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "MKL_NUM_THREADS")}
    env.update({"ILM_THREADS": POLICIES[policy], "ILM_CACHE_DIR": str(cache_dir)})
    if policy == "2-passive":
        env["OMP_WAIT_POLICY"] = "PASSIVE"
    cmd = [
        sys.executable, "-c", "from ilm_core.cli import main; main()",
        "run", "--teacher", "select-bin", "--env", "domains",
        "--episodes", str(episodes), "--students", str(students), "--out", str(out), "--quiet",
    ]  # fmt: skip
    if not cache:
        cmd.append("--no-cache")
    start = time.perf_counter()
    try:
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, timeout=timeout)
    except subprocess.TimeoutExpired:
        metrics = out / "metrics.jsonl"
        done = [json.loads(x)["seconds"] for x in metrics.read_text().splitlines() if x] if metrics.exists() else []
        bound = max([*done, (timeout - STARTUP_S - sum(done)) / max(1, episodes - len(done))])
        return {"episode_s": bound, "setup_s": float("nan"), "threads": None, "wall_s": timeout, "censored": True}
    wall = time.perf_counter() - start
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines() if line.strip()]
    summary = json.loads((out / "summary.json").read_text())
    return {
        "episode_s": statistics.median(r["seconds"] for r in records),
        "setup_s": summary["setup_seconds"],
        "threads": summary["threads"]["threads"],
        "wall_s": wall,
        "censored": False,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", default="2,12", help="comma-separated student counts (one table each)")
    ap.add_argument("--episodes", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--policies", default="old,auto,1", help=f"from {', '.join(POLICIES)}")
    ap.add_argument("--load", type=int, default=3 * (os.cpu_count() or 1), help="busy processes when loaded")
    ap.add_argument("--max-load-seconds", type=float, default=600.0, help="no busy process lives longer")
    ap.add_argument("--setup", action="store_true", help="also time set-up with the cache off")
    ap.add_argument("--run-timeout", type=float, default=180.0, help="stop a run after this; its time is a bound")
    ap.add_argument("--json", type=Path, help="write every measurement here")
    args = ap.parse_args()
    policies = args.policies.split(",")
    students = [int(s) for s in args.students.split(",")]
    before = os.getloadavg()
    print(f"load average before: {before[0]:.2f} {before[1]:.2f} {before[2]:.2f} on {os.cpu_count()} CPUs")
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for n in students:  # warm the set-up cache: the episode runs then time episodes only
            ilm_run("1", n, 1, root / f"warm-{n}", root / "cache", True, args.run_timeout)
        kinds = [("episodes", True)] + ([("setup", False)] if args.setup else [])
        for r in range(args.rounds):
            for kind, cache in kinds:
                for n in students:
                    for condition in ("quiet", "loaded"):
                        for policy in policies:
                            out = root / f"{kind}-{n}-{condition}-{policy}-{r}"
                            episodes = args.episodes if kind == "episodes" else 1
                            if condition == "loaded":
                                with Load(args.load, args.max_load_seconds):
                                    m = ilm_run(policy, n, episodes, out, root / "cache", cache, args.run_timeout)
                            else:
                                m = ilm_run(policy, n, episodes, out, root / "cache", cache, args.run_timeout)
                            rows.append({"kind": kind, "students": n, "condition": condition, "policy": policy,
                                         "round": r, **m})  # fmt: skip
                            print(f"  round {r} {kind} {n} students {condition:6s} {policy:9s} "
                                  f"episode {'>' if m['censored'] else ''}{m['episode_s']:.3f} s  "
                                  f"set-up {m['setup_s']:.2f} s  "
                                  f"threads {m['threads']}", flush=True)  # fmt: skip
    after = os.getloadavg()
    print(f"load average after: {after[0]:.2f} {after[1]:.2f} {after[2]:.2f}")
    for kind, column in (("episodes", "episode_s"), ("setup", "setup_s")):
        for n in students:
            report(rows, kind, column, n, policies, args.load)
    if args.json:
        args.json.write_text(json.dumps({"before": before, "after": after, "rows": rows}, indent=1))


def report(rows: list[dict], kind: str, column: str, n: int, policies: list[str], load: int) -> None:
    """Median seconds per condition and policy; ratios are medians of per-round ratios."""
    mine = [r for r in rows if r["kind"] == kind and r["students"] == n]
    if not mine:
        return

    def per_round(condition: str, policy: str) -> dict[int, float]:
        return {r["round"]: r[column] for r in mine if r["condition"] == condition and r["policy"] == policy}

    def ratio(a: dict[int, float], b: dict[int, float]) -> float:
        return statistics.median(a[k] / b[k] for k in a if k in b and b[k] > 0)

    what = "seconds per episode (median)" if kind == "episodes" else "set-up seconds, cache off"
    print(f"\n{n} students, {what}; loaded = {load} busy processes of our own")
    print("| policy | quiet | loaded | loaded/quiet | quiet vs old | loaded vs old | loaded vs best |")
    print("|---|---|---|---|---|---|---|")
    # a ">" marks a median over runs some of which were stopped at --run-timeout: a lower bound
    best = {}
    for policy in policies:
        best[policy] = statistics.median(per_round("loaded", policy).values())
    best_policy = min(best, key=best.get)  # type: ignore[arg-type]
    censored = {(r["condition"], r["policy"]) for r in mine if r.get("censored")}

    def cell(condition: str, policy: str) -> str:
        mark = ">" if (condition, policy) in censored else ""
        return f"{mark}{statistics.median(per_round(condition, policy).values()):.3f}"

    for policy in policies:
        q, lo = per_round("quiet", policy), per_round("loaded", policy)
        print(
            f"| {policy} | {cell('quiet', policy)} | {cell('loaded', policy)} "
            f"| {ratio(lo, q):.2f}x | {ratio(q, per_round('quiet', 'old')):.2f}x "
            f"| {ratio(lo, per_round('loaded', 'old')):.2f}x | {ratio(lo, per_round('loaded', best_policy)):.2f}x |"
        )


if __name__ == "__main__":
    main()
