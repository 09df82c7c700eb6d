"""Choose one student recipe per task by a fixed rule, on tuning seeds the paper does not use.

The rule (fixed before any recipe was judged on the paper's five seeds):

1. Candidates: the 2x64 `transformer-lm` student at lr 1e-3, 3e-3, 1e-2, 3e-2, each for 20 and
   for 40 updates (8 recipes).
2. For each candidate, `ilm baselines` on the tuning seeds 11, 12, 13 with 10 runs per seed and
   baseline, the task's baselines config otherwise unchanged (fixed exam, 50-sentence held-out exam).
3. Admissible: oracle < random < worst case (mean perplexity) on every tuning seed, on the fixed
   exam and on the held-out exam.
4. Score: the smallest, over the tuning seeds, separation of oracle from random lessons in held-out
   log perplexity, d = (mean_random - mean_oracle) / sqrt((var_random + var_oracle) / 2): how
   reliably a student's score tells a good lesson from a random one, which is what a teacher
   learns from. The admissible candidate with the highest score wins; if none is admissible, the
   one ordering the most (seed, exam) pairs, then the highest score.

The winner is the student recipe of that task's baselines config and of every teacher config of
that task. Finished candidates are read back, not re-run:

    python experiments/choose_recipe.py --task 1 --out runs/choose-recipe-task1
    python experiments/choose_recipe.py --task 2 --out runs/choose-recipe-task2
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
from pathlib import Path

from ilm_report.baselines_cmd import ordered_seeds
from ilm_report.runs import load_run

TASKS = {1: ("domains", "configs/baselines-task1.toml"), 2: ("structures", "configs/baselines-task2.toml")}
LRS = ("1e-3", "3e-3", "1e-2", "3e-2")
UPDATES = (20, 40)
TUNING_SEEDS = (11, 12, 13)
RUNS = 10


def log_ppl(folder: Path, baseline: str, seed: int) -> list[float]:
    record = load_run(folder / f"{baseline}-seed-{seed}").records[0]
    return [math.log(p) for p in record["per_student"]["heldout_perplexity"]]


def separation(folder: Path, seed: int) -> float:
    oracle, random = log_ppl(folder, "oracle", seed), log_ppl(folder, "random", seed)
    spread = math.sqrt((statistics.variance(oracle) + statistics.variance(random)) / 2)
    return (statistics.fmean(random) - statistics.fmean(oracle)) / spread


def evaluate(task: int, lr: str, updates: int, out: Path) -> dict:
    env, config = TASKS[task]
    folder = out / f"lr-{lr}_updates-{updates}"
    if not (folder / "baselines.json").exists():
        cmd = ["ilm", "baselines", "--env", env, "--config", config, "--out", str(folder), "--runs", str(RUNS)]
        cmd += ["--seeds", ",".join(map(str, TUNING_SEEDS)), "--set", f"student.lr={lr}"]
        cmd += ["--set", f"student.updates={updates}"]
        print(f"running: {' '.join(cmd)}", file=sys.stderr, flush=True)
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    rows = json.loads((folder / "baselines.json").read_text())["rows"]
    ordered = sum(len(ordered_seeds(rows, col)["holds"]) for col in ("perplexity", "heldout_perplexity"))
    scores = [separation(folder, s) for s in TUNING_SEEDS]
    return {"lr": lr, "updates": updates, "ordered": ordered, "d_min": min(scores), "d": scores}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--task", type=int, choices=sorted(TASKS), required=True)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    results = [evaluate(args.task, lr, n, args.out) for n in UPDATES for lr in LRS]
    pairs = 2 * len(TUNING_SEEDS)
    print(f"| lr | updates | ordered (seed, exam) pairs of {pairs} | d per tuning seed | d (min) |")
    print("|---|---|---|---|---|")
    for r in results:
        d = ", ".join(f"{x:.2f}" for x in r["d"])
        print(f"| {r['lr']} | {r['updates']} | {r['ordered']}/{pairs} | {d} | {r['d_min']:.2f} |")
    best = max(results, key=lambda r: (r["ordered"] == pairs, r["ordered"], r["d_min"]))
    admissible = "admissible" if best["ordered"] == pairs else "none admissible; most ordered"
    print(f"\nchosen ({admissible}): student.lr={best['lr']} student.updates={best['updates']}")
    (args.out / "choice.json").write_text(json.dumps({"results": results, "chosen": best}, indent=1))


if __name__ == "__main__":
    main()
