"""The table of docs/roadmap-studies.md from the study's sweeps (experiments/roadmap_studies.sh).

For every variant of a task: over the paper's seeds, the mean (± std over seeds) of the last
`--last` episodes' (default 5) exam-domain fraction, the feedback the teacher got (the final
round's), the held-out perplexity, and that perplexity over the oracle's on the same seed: the
oracle under the paper's protocol, and the oracle under the variant's own protocol (same rounds,
same student) where the study ran one.

    python experiments/roadmap_studies.py runs/roadmap-studies --task task1
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

VARIANTS = (
    "all-at-once",
    "send-in-batches",
    "mid-term-exams",
    "ask-for-feedback",
    "know-when-to-stop",
    "select-useful",
    "students-for-the-run",
    "oracle",
)


def feedback(record: dict[str, Any]) -> float:
    """The final round's mean feedback score (the exam's perplexity in the paper's protocol)."""
    rounds = record.get("rounds") or []
    return rounds[-1]["feedback_mean"] if rounds and "feedback_mean" in rounds[-1] else record["perplexity_mean"]


def runs(folder: Path) -> dict[int, list[dict[str, Any]]]:
    """seed -> metrics records, for every finished run under `folder`."""
    out = {}
    for metrics in sorted(folder.glob("**/metrics.jsonl")):
        if not (metrics.parent / "summary.json").exists():
            continue
        seed = json.loads((metrics.parent / "config.json").read_text())["seed"]
        out[seed] = [json.loads(line) for line in metrics.read_text().splitlines()]
    return out


LAST = 5


def last(records: list[dict[str, Any]], value: Any, n: int = LAST) -> float | None:
    values = [value(r) for r in records[-n:]]
    values = [v for v in values if v is not None]
    return statistics.fmean(values) if values else None


def cell(values: list[float | None], digits: int = 3) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    sd = statistics.pstdev(values) if len(values) > 1 else 0.0
    return f"{statistics.fmean(values):.{digits}f} ± {sd:.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--task", required=True)
    parser.add_argument("--last", type=int, default=LAST, help="episodes at the end of each run to average")
    args = parser.parse_args()
    n = args.last

    def heldout(folder: Path) -> dict[int, float | None]:
        return {s: last(r, lambda x: x.get("heldout_perplexity_mean"), n) for s, r in runs(folder).items()}

    def ratios(held: dict[int, float | None], oracle: dict[int, float | None]) -> list[float | None]:
        return [held[s] / oracle[s] for s in held if held[s] is not None and oracle.get(s)]  # type: ignore[operator]

    oracle = heldout(args.out / f"{args.task}-oracle")
    print(
        f"| {args.task} | seeds | episodes | exam-domain fraction | feedback | held-out ppl "
        "| / oracle's (1 round) | / oracle's (same protocol) | extra |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for variant in VARIANTS:
        found = runs(args.out / f"{args.task}-{variant}")
        if not found:
            continue
        frac = [last(r, lambda x: x["fraction_exam_domain"], n) for r in found.values()]
        fb = [last(r, feedback, n) for r in found.values()]
        held = heldout(args.out / f"{args.task}-{variant}")
        own = heldout(args.out / f"{args.task}-oracle-{variant}")
        extra = []
        for key in ("updates_used", "fraction_exam_domain_used"):
            values = [last(r, lambda x, k=key: _mean(x["per_student"].get(k)), n) for r in found.values()]
            if any(v is not None for v in values):
                extra.append(f"{key} {cell(values, 2)}")
        episodes = sorted({len(r) for r in found.values()})
        print(
            f"| {variant} | {len(found)} | {'/'.join(map(str, episodes))} | {cell(frac)} | {cell(fb, 2)} | "
            f"{cell(list(held.values()), 2)} | {cell(ratios(held, oracle))} | "
            f"{cell(ratios(held, own)) if own else '-'} | {'; '.join(extra)} |"
        )


def _mean(values: list[float | None] | None) -> float | None:
    values = [v for v in values or [] if v is not None]
    return statistics.fmean(values) if values else None


if __name__ == "__main__":
    main()
