"""docs/exams.md's table from `ilm report` outputs: per seed, last 10 episodes.

python experiments/exam_table.py runs/reproduce/report-task2-fixed runs/reproduce/report-task2-fresh
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main() -> None:
    print(
        "| policy | seed | Structure/V1 fraction | feedback ppl | held-out ppl | oracle held-out ppl "
        "| held-out / oracle | taught to the test |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for folder in sys.argv[1:]:
        report = json.loads((Path(folder) / "report.json").read_text())
        policy = Path(folder).name.rsplit("-", 1)[-1]
        learner = next(s for s in report["settings"] if s["teacher"] not in ("oracle", "random", "worst-case"))
        for p in sorted(learner["per_seed"], key=lambda p: p["seed"]):
            ratio = p["heldout"] / p["oracle_heldout"] if p["oracle_heldout"] else float("nan")
            flag = {True: "yes", False: "no", None: "-"}[p["taught_to_the_test"]]
            print(
                f"| {policy} | {p['seed']} | {p['fraction']:.2f} | {p['feedback']:.2f} | {p['heldout']:.2f} | "
                f"{p['oracle_heldout']:.2f} | {ratio:.2f}x | {flag} |"
            )


if __name__ == "__main__":
    main()
