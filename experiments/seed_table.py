"""Markdown tables of teacher runs over many seeds: mean with a 95% interval, and per seed.

Reads the `per_seed` entries of the `report.json` files `ilm report` writes (intervals as its `ci95`) and prints
one row per setting (teachers and oracle references alike): seeds, the last-10 fraction of taught
data from the exam domain, the feedback and held-out perplexity and the held-out one's ratio to
the oracle's on the same seed, each as mean ± half-width of the 95% t-interval over seeds, on how
many seeds the fraction reaches 0.9, and how many seeds `ilm report` flags "taught to the test".
`--per-seed` adds a per-seed table of fractions for the seeds given (the paper's five); `--csv`
writes every seed's values behind every interval (the docs' appendix, e.g. docs/data/figure2-task2.csv):

    python experiments/seed_table.py runs/report-task1-fresh runs/report-task1-fixed --per-seed 6639,7519,1007,4520,4527
    python experiments/seed_table.py runs/report-task2-fresh runs/report-task2-fixed --csv docs/data/figure2-task2.csv
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from pathlib import Path

from ilm_report.runs import mean_ci95


def pm(pair: tuple[float, float], spec: str = ".3g") -> str:
    """'mean ± half-width' (fractions and ratios with spec '.2f', perplexities with 3 digits)."""
    mean, half = pair
    if math.isnan(mean):
        return "-"
    return (
        f"{mean:{spec}} ± {half:{spec if spec.endswith('f') else '.2g'}}" if not math.isnan(half) else f"{mean:{spec}}"
    )


def ratio(p: dict) -> float | None:
    return p["heldout"] / p["oracle_heldout"] if p.get("heldout") and p.get("oracle_heldout") else None


def summary(report: Path) -> list[str]:
    lines = []
    for row in json.loads((report / "report.json").read_text())["settings"]:
        seeds = row["per_seed"]
        reached = sum(1 for p in seeds if (p["fraction"] or 0) >= 0.9)
        cells = [
            f"{report.name.removeprefix('report-')}: {row['setting']}",
            str(len(seeds)),
            pm(mean_ci95([p["fraction"] for p in seeds]), ".2f"),
            pm(mean_ci95([p["feedback"] for p in seeds])),
            pm(mean_ci95([p["heldout"] for p in seeds])),
            pm(mean_ci95([ratio(p) for p in seeds]), ".2f"),
            f"{reached}/{len(seeds)}",
            str(len(row["taught_to_the_test"])),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def per_seed(report: Path, wanted: list[int]) -> list[str]:
    lines = []
    for row in json.loads((report / "report.json").read_text())["settings"]:
        by_seed = {p["seed"]: p for p in row["per_seed"]}
        fractions = [f"{by_seed[s]['fraction']:.2f}" if s in by_seed else "-" for s in wanted]
        lines.append(f"| {report.name.removeprefix('report-')}: {row['setting']} | " + " | ".join(fractions) + " |")
    return lines


def write_csv(reports: list[Path], path: Path) -> None:
    """One row per report, setting and seed: the values the intervals of `summary` are taken over."""
    fields = ["report", "setting", "seed", "fraction", "feedback", "heldout", "oracle_heldout", "heldout_over_oracle"]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        for report in reports:
            for row in json.loads((report / "report.json").read_text())["settings"]:
                for p in row["per_seed"]:
                    values = {k: p.get(k) for k in ("seed", "fraction", "feedback", "heldout", "oracle_heldout")}
                    over = ratio(p)
                    writer.writerow(
                        {
                            "report": report.name.removeprefix("report-"),
                            "setting": row["setting"],
                            **{k: round(v, 4) if isinstance(v, float) else v for k, v in values.items()},
                            "heldout_over_oracle": None if over is None else round(over, 4),
                        }
                    )
    print(f"\nper-seed values: {path}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("reports", nargs="+", type=Path, help="folders written by `ilm report --out`")
    ap.add_argument("--per-seed", default="", help="comma-separated seeds for a per-seed fraction table")
    ap.add_argument("--csv", type=Path, default=None, help="write every seed's values here")
    args = ap.parse_args()
    print(
        "| setting | seeds | fraction (last 10) | feedback ppl | held-out ppl | held-out / oracle | seeds >= 0.9 "
        "| taught to the test |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for report in args.reports:
        print("\n".join(summary(report)))
    if args.per_seed:
        wanted = [int(s) for s in args.per_seed.split(",")]
        print("\n| setting | " + " | ".join(map(str, wanted)) + " |")
        print("|---|" + "---|" * len(wanted))
        for report in args.reports:
            print("\n".join(per_seed(report, wanted)))
    if args.csv:
        write_csv(args.reports, args.csv)


if __name__ == "__main__":
    main()
