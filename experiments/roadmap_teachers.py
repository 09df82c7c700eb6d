"""Tables of docs/roadmap-studies.md for the generating teacher and mixed populations.

    python experiments/roadmap_teachers.py generate runs/task1-generate-lm runs/task1-generate-lm-oracle
    python experiments/roadmap_teachers.py population runs/task1-mixed runs/task1-mixed-oracle
    python experiments/roadmap_teachers.py turns runs/task1-take-turns

`generate`: one row per seed, last 10 episodes: fraction of the generated sentences in the exam's
domain, feedback and held-out perplexity, the oracle's held-out perplexity (same environment,
student and exam), their ratio, and generated sentences that copy an exam, held-out or pool/corpus
sentence over the whole run. `population`: one row per teacher setting and student group, last 10
episodes, mean ± std over seeds of the group's held-out perplexity and exam-domain fraction.
`turns`: for a take-turns run, one row per turn (`ilm_plugins.teachers.take_turns.tracking`).
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path
from typing import Any

from ilm_plugins.teachers.take_turns import tracking
from ilm_report.runs import LAST, find_runs, group_settings, mean_std, oracle_baselines


def per_student_last(run: Any, key: str, students: list[int]) -> float:
    """Mean over the last 10 episodes and the given students of a per-student column."""
    values = [r["per_student"][key][i] for r in run.records[-LAST:] for i in students]
    return statistics.fmean(v for v in values if v is not None)


def total(run: Any, key: str) -> int:
    return int(sum(v or 0 for r in run.records for v in r["per_student"].get(key, [])))


def generate_table(runs: list[Any]) -> str:
    oracles = oracle_baselines(runs)
    lines = [
        "| seed | exam-domain fraction | feedback ppl | held-out ppl | oracle held-out ppl | held-out / oracle "
        "| copies of exam / held-out / pool+corpus |",
        "|---|---|---|---|---|---|---|",
    ]
    ratios, fractions = [], []
    for run in sorted((r for r in runs if not r.is_reference()), key=lambda r: r.seed):
        oracle = oracles.get((run.env_key(), run.seed))
        heldout = run.last("heldout_perplexity_mean")
        ref = oracle.last("heldout_perplexity_mean", 10**9) if oracle else None
        ratio = heldout / ref if heldout and ref else None
        fraction = run.last("fraction_exam_domain")
        fractions.append(fraction)
        if ratio:
            ratios.append(ratio)
        copies = " / ".join(str(total(run, f"generated_{k}_copies")) for k in ("exam", "heldout", "known"))
        lines.append(
            f"| {run.seed} | {fraction:.3f} | {run.last('perplexity_mean'):.2f} | {heldout:.2f} | "
            f"{ref:.2f} | {ratio:.3f} | {copies} |"
            if ratio
            else f"| {run.seed} | {fraction:.3f} | {run.last('perplexity_mean'):.2f} | {heldout} | - | - | {copies} |"
        )
    if ratios:
        lines.append(
            f"| mean | {statistics.fmean(fractions):.3f} | | | | {statistics.fmean(ratios):.3f} "
            f"(range {min(ratios):.3f}-{max(ratios):.3f}) | |"
        )
    return "\n".join(lines)


def population_table(runs: list[Any]) -> str:
    lines = [
        "| teacher setting | group | runs | held-out ppl (last 10) | exam-domain fraction (last 10) |",
        "|---|---|---|---|---|",
    ]
    for setting in group_settings(runs):
        groups = setting.config.get("population") or []
        for k, group in enumerate(groups):
            heldout, fraction = [], []
            for run in setting.runs:
                members = [i for i, g in enumerate(run.records[-1]["per_student"]["population_group"]) if g == k]
                heldout.append(per_student_last(run, "heldout_perplexity", members))
                fraction.append(per_student_last(run, "fraction_exam_domain", members))
            (hm, hs), (fm, fs) = mean_std(heldout), mean_std(fraction)
            n = len(setting.runs)
            teacher = setting.config["teacher"]
            label = " ".join([teacher["name"], *(f"{k}={v}" for k, v in teacher["params"].items() if k == "group_by")])
            lines.append(f"| {label} | {group['name']} | {n} | {hm:.2f} ± {hs:.2f} | {fm:.3f} ± {fs:.3f} |")
    return "\n".join(lines)


def turns_table(runs: list[Any]) -> str:
    lines = [
        "| run | turn | teacher | episodes | held-out ppl first | last | settled | episodes to settle |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        names = [t["name"] for t in run.config["teacher"]["params"]["teachers"]]
        for row in tracking(run.records):
            lines.append(
                f"| {run.path.name} | {row['turn']} | {names[row['teacher']]} | {row['episodes']} | "
                f"{row['first']:.2f} | {row['last']:.2f} | {row['settled']:.2f} | {row['settle']} |"
            )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("table", choices=["generate", "population", "turns"])
    ap.add_argument("runs", nargs="+", type=Path)
    args = ap.parse_args()
    runs = find_runs(args.runs)
    tables = {"generate": generate_table, "population": population_table, "turns": turns_table}
    print(tables[args.table](runs))


if __name__ == "__main__":
    main()
