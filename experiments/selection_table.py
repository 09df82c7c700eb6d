"""The data-selection comparison's tables (docs/data-selection.md) from `experiments/selection_study.sh`.

python experiments/selection_table.py [OUT] [--csv docs/data/selection-comparison.csv]

For every environment (Task 1, hidden goals, Task 2, text) and teacher: the held-out exam perplexity
(the mean over a run's last 10 episodes, then over seeds) with its 95% interval (Student's t over the
seeds), the paired difference from `stratified` on the same seeds (negative: better than stratified)
with its 95% interval, the episodes and the wall time of a run (set-up and episodes; the set-up's
teacher-LM pretraining is cached per seed, so the first teacher of a seed to run pays for it). Every seed's
values go to the CSV. Runs that are missing are left out, and the table says how many seeds it has.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import statistics
import sys
from pathlib import Path

ENVIRONMENTS = {"task1": "Task 1 (domains)", "goals": "hidden goals", "task2": "Task 2 (structures)", "text": "text"}
TEACHERS = [
    "select-bin",
    "value-bandit",
    "feedback-bin",
    "odm",
    "doremi",
    "hard-examples",
    "stratified",
    "random",
    "oracle",
]
LAST = 10
#: two-sided 95% quantiles of Student's t by degrees of freedom
T95 = {1: 12.71, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228}


def interval(values: list[float]) -> tuple[float, float]:
    """Mean and the half-width of its 95% interval (t over the values; 0 for one value)."""
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, 0.0
    t = T95.get(len(values) - 1, 1.96 + 2.5 / (len(values) - 1))
    return mean, t * statistics.stdev(values) / math.sqrt(len(values))


def runs(out: Path) -> list[dict]:
    """One row per finished run: environment, teacher, seed, episodes, held-out and feedback means, seconds."""
    rows = []
    for summary_path in sorted(out.glob("*/*/**/summary.json")):
        summary = json.loads(summary_path.read_text())
        env, teacher = summary_path.relative_to(out).parts[:2]
        lines = [json.loads(x) for x in (summary_path.parent / "metrics.jsonl").read_text().splitlines() if x]
        tail = lines[-LAST:]
        rows.append(
            {
                "environment": env,
                "teacher": teacher,
                "seed": summary["seed"],
                "episodes": len(lines),
                "heldout_perplexity": statistics.fmean(r["heldout_perplexity_mean"] for r in tail),
                "feedback_perplexity": statistics.fmean(r["perplexity_mean"] for r in tail),
                "seconds": round(summary["seconds"] + summary.get("setup_seconds", 0.0), 2),
                "setup_seconds": round(summary.get("setup_seconds", 0.0), 2),
            }
        )
    return rows


def table(rows: list[dict]) -> list[str]:
    lines = []
    for env, title in ENVIRONMENTS.items():
        here = [r for r in rows if r["environment"] == env]
        if not here:
            lines += [f"### {title}", "", "not run", ""]
            continue
        base = {r["seed"]: r["heldout_perplexity"] for r in here if r["teacher"] == "stratified"}
        lines += [
            f"### {title}",
            "",
            "| teacher | seeds | episodes | held-out perplexity, mean [95% interval] | minus stratified (paired) "
            "| wall s / run (set-up) |",
            "|---|---|---|---|---|---|",
        ]
        ranked = []
        for teacher in TEACHERS:
            mine = [r for r in here if r["teacher"] == teacher]
            if not mine:
                continue
            mean, half = interval([r["heldout_perplexity"] for r in mine])
            diffs = [r["heldout_perplexity"] - base[r["seed"]] for r in mine if r["seed"] in base]
            if teacher == "stratified" or not diffs:
                versus = "-"
            else:
                d, dh = interval(diffs)
                versus = f"{d:+.3f} [{d - dh:+.3f}, {d + dh:+.3f}]"
            seconds = statistics.fmean(r["seconds"] for r in mine)
            setup = statistics.fmean(r["setup_seconds"] for r in mine)
            episodes = sorted({r["episodes"] for r in mine})
            ranked.append((mean, teacher))
            lines.append(
                f"| {teacher} | {len(mine)} | {'/'.join(map(str, episodes))} | {mean:.3f} "
                f"[{mean - half:.3f}, {mean + half:.3f}] | {versus} | {seconds:.0f} ({setup:.0f}) |"
            )
        best = min((m, t) for m, t in ranked if t != "oracle") if any(t != "oracle" for _, t in ranked) else None
        if best:
            lines += ["", f"Best teacher without labels: {best[1]} ({best[0]:.3f})."]
        lines.append("")
    return lines


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, nargs="?", default=Path("runs/selection-study"), help="the study's runs")
    parser.add_argument("--csv", type=Path, default=Path("docs/data/selection-comparison.csv"), help="per-seed values")
    args = parser.parse_args(argv)
    out, target = args.out, args.csv
    if not out.is_dir():
        parser.error(f"{out} is not a folder of runs: run `bash experiments/selection_study.sh {out}` first")
    rows = runs(out)
    print("\n".join(table(rows)))
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["environment"])
        writer.writeheader()
        for r in sorted(rows, key=lambda r: (list(ENVIRONMENTS).index(r["environment"]), r["teacher"], r["seed"])):
            writer.writerow(r)
    print(f"per-seed values: {target} ({len(rows)} runs)")


if __name__ == "__main__":
    main(sys.argv[1:])
