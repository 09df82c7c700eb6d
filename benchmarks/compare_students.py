"""Compare the native `transformer-lm` student with `fairseq-lm` at one size (tiny preset).

For each task (domains, structures) and lesson kind (oracle, random, worst case), N students of
each kind are taught the same lessons under the same recipe (the task's student recipe, the one
`ilm baselines` and the teachers use: 20 updates at lr 1e-3 on Task 1, 1e-2 on Task 2) and take
the same fixed exam. Reported: exam perplexity mean and std over the students, and student
updates per second (students x updates / training seconds, after a warm-up call, so fairseq's
import and first-call costs are excluded). The native student is timed both as it runs by
default (all N as one batched model) and one student at a time, the way `fairseq-lm` trains.

    .venv/bin/python benchmarks/compare_students.py            # ~1-2 minutes on 2 CPU cores
    .venv/bin/python benchmarks/compare_students.py --students 5 --seed 6639 --threads 1

Writes compare_students.json and compare_students.md to --out (default benchmarks/results).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from rich.table import Table

from ilm_core import EnvironmentData, Registry
from ilm_plugins.exams import PerplexityParams
from ilm_plugins.exams.perplexity import PerplexityExam

LESSONS = ("oracle", "random", "worst")
#: the student recipe of each task (configs/baselines-task1.toml, configs/baselines-task2.toml)
RECIPES: dict[str, dict[str, Any]] = {"domains": {"updates": 20, "lr": 1e-3}, "structures": {"updates": 20, "lr": 1e-2}}
#: (row label, student plugin, train all N students in one call?)
STUDENTS = (
    ("transformer-lm (batched)", "transformer-lm", True),
    ("transformer-lm (one at a time)", "transformer-lm", False),
    ("fairseq-lm (one at a time)", "fairseq-lm", False),
)


def registry() -> Registry:
    """Installed plugins; `fairseq-lm` registered in-process if no entry point provides it yet."""
    reg = Registry()
    reg.load_entry_points()
    if "fairseq-lm" not in reg.specs("student"):
        import ilm_plugins.fairseq_lm

        reg.register(ilm_plugins.fairseq_lm, name="ilm-fairseq-lm", distribution="ilm")
    return reg


def make_lessons(data: EnvironmentData, kind: str, n: int, budget: int, seed: int) -> list[list[list[int]]]:
    """n lessons of `budget` pool sentences: exam-domain only, anything, or outside it only."""
    labels = data.pool_in_exam_domain
    if kind == "oracle":
        candidates = [i for i, good in enumerate(labels) if good]
    elif kind == "worst":
        candidates = [i for i, good in enumerate(labels) if not good]
    else:
        candidates = list(range(len(labels)))
    rng = random.Random(f"{seed}-{kind}")
    return [[list(data.pool[i]) for i in rng.sample(candidates, min(budget, len(candidates)))] for _ in range(n)]


def train_and_score(
    student: Any, lessons: list[list[list[int]]], seeds: list[int], data: EnvironmentData, batched: bool
) -> tuple[list[float], float]:
    """Exam perplexity of each student and the training seconds."""
    exam = PerplexityExam(PerplexityParams(feedback="fixed"))
    vocab = len(data.vocabulary)
    start = time.perf_counter()
    groups = [(lessons, seeds)] if batched else [([x], [s]) for x, s in zip(lessons, seeds, strict=True)]
    trained = [student.train(ls, ss, vocab, "cpu") for ls, ss in groups]
    seconds = time.perf_counter() - start
    return [r.perplexity for t in trained for r in exam.score(t, data.exam)], seconds


def fmt(mean: float, std: float) -> str:
    return f"{mean:.3g} ± {std:.2g}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, default=5, help="students per lesson kind")
    ap.add_argument("--seed", type=int, default=6639, help="environment and lesson seed")
    ap.add_argument("--budget", type=int, default=10, help="sentences per lesson")
    ap.add_argument("--tasks", default="domains,structures")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    reg = registry()
    if reg.get("student", "fairseq-lm").missing_requirements():
        print("fairseq is not installed: pip install -e '.[fairseq]'", file=sys.stderr)
        return 2
    seeds = [args.seed * 1000 + i for i in range(args.students)]
    rows: list[dict[str, Any]] = []
    recipes: dict[str, dict[str, Any]] = {}
    for task in args.tasks.split(","):
        recipes[task] = RECIPES[task]
        students = {
            name: reg.build("student", name, {**RECIPES[task], **({"preset": "tiny"} if name == "fairseq-lm" else {})})
            for _, name, _ in STUDENTS
        }
        updates = {name: s.params.updates for name, s in students.items()}
        data = reg.build("environment", task, {}).build(args.seed)
        for label, name, batched in STUDENTS:
            warm = make_lessons(data, "random", 1, args.budget, args.seed + 1)
            train_and_score(students[name], warm, [0], data, batched)  # warm-up: imports, first calls
            for kind in LESSONS:
                lessons = make_lessons(data, kind, args.students, args.budget, args.seed)
                ppl, seconds = train_and_score(students[name], lessons, seeds, data, batched)
                rows.append(
                    {
                        "task": task,
                        "student": label,
                        "plugin": name,
                        "lesson": kind,
                        "perplexity_mean": statistics.fmean(ppl),
                        "perplexity_std": statistics.pstdev(ppl),
                        "perplexities": ppl,
                        "train_seconds": seconds,
                        "updates_per_second": len(ppl) * updates[name] / seconds if seconds > 0 else None,
                    }
                )
    meta = {
        "students": args.students,
        "seed": args.seed,
        "budget": args.budget,
        "threads": torch.get_num_threads(),
        "recipes": recipes,
        "fairseq_recipe": students["fairseq-lm"].params.recipe(),
        "fairseq_architecture": students["fairseq-lm"].arch,
        "torch": torch.__version__,
    }
    table = Table(title=f"exam perplexity (mean ± std over {args.students} students) and student updates/s")
    for col in ("task", "student", *LESSONS, "updates/s"):
        table.add_column(col, justify="left" if col in ("task", "student") else "right")
    md = ["| task | student | oracle | random | worst case | updates/s |", "|---|---|---|---|---|---|"]
    for task in args.tasks.split(","):
        for label, _, _ in STUDENTS:
            sel = {r["lesson"]: r for r in rows if r["task"] == task and r["student"] == label}
            cells = [fmt(sel[k]["perplexity_mean"], sel[k]["perplexity_std"]) for k in LESSONS]
            rate = statistics.fmean(sel[k]["updates_per_second"] for k in LESSONS)
            table.add_row(task, label, *cells, f"{rate:.0f}")
            md.append(f"| {task} | {label} | {' | '.join(cells)} | {rate:.0f} |")
    Console(width=140).print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "compare_students.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    (args.out / "compare_students.md").write_text("\n".join(md) + "\n")
    print(f"wrote {args.out / 'compare_students.json'} and {args.out / 'compare_students.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
