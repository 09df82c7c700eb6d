"""Tables of the student-side studies (experiments/student_studies.sh): per seed, each arm's
held-out perplexity (the mean over the run's episodes of the students' mean), the paired
difference ablation - mechanism (positive: the mechanism helps), its mean and 95% t-interval.

    python experiments/student_studies.py runs/student-studies [--study NAME]
    python experiments/student_studies.py runs/student-studies --updates-used   # for the fixed early stop
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from pathlib import Path

#: study -> (mechanism arm, [ablation arms])
STUDIES = {
    "experiment": ("answered", ["unanswered", "unlikelihood-only"]),
    "feedback": ("given", ["withheld"]),
    "trust": ("learned", ["equal"]),
    "stop": ("know-when-to-stop", ["all-updates", "fixed-early-stop"]),
    "select": ("worst-predicted", ["random-half", "use-all"]),
}
#: two-sided 95% quantiles of Student's t, by degrees of freedom
T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228}


def records(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]


def heldout(run: Path) -> float | None:
    if not (run / "summary.json").is_file():
        return None
    return statistics.fmean(r["heldout_perplexity_mean"] for r in records(run))


def per_student_mean(run: Path, key: str) -> float:
    values = [v for r in records(run) for v in r["per_student"].get(key, []) if v is not None]
    return statistics.fmean(values)


def interval(diffs: list[float]) -> tuple[float, float, float]:
    mean = statistics.fmean(diffs)
    if len(diffs) < 2:
        return mean, math.nan, math.nan
    half = T95.get(len(diffs) - 1, 1.96) * statistics.stdev(diffs) / math.sqrt(len(diffs))
    return mean, mean - half, mean + half


def table(out: Path, study: str) -> None:
    mechanism, ablations = STUDIES[study]
    arms = [mechanism, *ablations]
    seeds = sorted({p.name for arm in arms for p in (out / study / arm).glob("seed-*")}, key=lambda s: int(s[5:]))
    print(f"## {study}: held-out perplexity (lower is better); diff = ablation - {mechanism}")
    print("| seed | " + " | ".join(arms) + " | " + " | ".join(f"diff {a}" for a in ablations) + " |")
    print("|---" * (len(arms) + len(ablations) + 1) + "|")
    diffs: dict[str, list[float]] = {a: [] for a in ablations}
    values: dict[str, list[float]] = {a: [] for a in arms}
    for seed in seeds:
        got = {arm: heldout(out / study / arm / seed) for arm in arms}
        cells = [f"{got[a]:.3f}" if got[a] is not None else "-" for a in arms]
        for a in arms:
            if got[a] is not None:
                values[a].append(got[a])
        for a in ablations:
            if got[a] is not None and got[mechanism] is not None:
                diffs[a].append(got[a] - got[mechanism])
                cells.append(f"{got[a] - got[mechanism]:+.3f}")
            else:
                cells.append("-")
        print(f"| {seed[5:]} | " + " | ".join(cells) + " |")
    means = [f"{statistics.fmean(values[a]):.3f}" if values[a] else "-" for a in arms]
    spans = []
    for a in ablations:
        if diffs[a]:
            mean, lo, hi = interval(diffs[a])
            spans.append(f"{mean:+.3f} [{lo:+.3f}, {hi:+.3f}] (n={len(diffs[a])})")
        else:
            spans.append("-")
    print("| mean | " + " | ".join(means) + " | " + " | ".join(spans) + " |")
    if study == "stop" and values[mechanism]:
        runs = [out / study / mechanism / s for s in seeds if heldout(out / study / mechanism / s) is not None]
        used = [per_student_mean(r, "updates_used") for r in runs]
        print(
            f"updates used by know-when-to-stop: mean {statistics.fmean(used):.2f} (per seed "
            + ", ".join(f"{u:.2f}" for u in used)
            + ")"
        )
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--study", choices=sorted(STUDIES), action="append")
    parser.add_argument(
        "--updates-used", action="store_true", help="print the stopping student's mean updates, rounded"
    )
    args = parser.parse_args()
    if args.updates_used:
        runs = sorted((args.out / "stop" / "know-when-to-stop").glob("seed-*"))
        used = [per_student_mean(r, "updates_used") for r in runs if (r / "summary.json").is_file()]
        print(max(1, round(statistics.fmean(used))))
        return
    for study in args.study or list(STUDIES):
        if (args.out / study).is_dir():
            table(args.out, study)


if __name__ == "__main__":
    main()
