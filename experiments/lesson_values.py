"""What a lesson is worth: students taught hand-picked Task 2 lessons, scored on both exams.

The teacher can only converge to what its reward prefers. This trains N students (one shared
initialisation, as `student_init = "shared"` does within an episode) on each kind of lesson
(random Structure 1 sentences, the longest or shortest ones, mixes, random, Structure 2 only)
and prints their fixed-exam and held-out perplexity, so one can read off whether, under a
student recipe, the last Structure 2 sentences of a lesson cost anything.

    python experiments/lesson_values.py --seed 7519 --lr 1e-3 --updates 20
    python experiments/lesson_values.py --seed 7519 --lr 1e-2 --updates 20 --students 12
"""

from __future__ import annotations

import argparse
import random
import statistics
from collections.abc import Callable

from task2_setup import add_arguments, build

from ilm_core import seeding


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(ap)
    ap.add_argument("--students", type=int, default=12)
    args = ap.parse_args()
    data, student, exam = build(args)
    rng = random.Random(args.seed)
    pool = data.pool
    s1 = [i for i, x in enumerate(data.pool_in_exam_domain) if x]
    s2 = [i for i, x in enumerate(data.pool_in_exam_domain) if not x]
    s1_long = sorted(s1, key=lambda i: -len(pool[i]))
    s2_long = sorted(s2, key=lambda i: -len(pool[i]))
    plans: dict[str, Callable[[], list[int]]] = {
        "oracle (random S1)": lambda: rng.sample(s1, 10),
        "10 longest S1": lambda: s1_long[:10],
        "10 shortest S1": lambda: s1_long[-10:],
        "8 longest S1 + 2 longest S2": lambda: s1_long[:8] + s2_long[:2],
        "5 S1 + 5 S2 (random)": lambda: rng.sample(s1, 5) + rng.sample(s2, 5),
        "random": lambda: rng.sample(range(len(pool)), 10),
        "2 S1 + 8 S2 (random)": lambda: rng.sample(s1, 2) + rng.sample(s2, 8),
        "worst case (random S2)": lambda: rng.sample(s2, 10),
        "10 longest S2": lambda: s2_long[:10],
    }
    seeds = [seeding.derive(args.seed, "student", 0, 0)] * args.students
    print(f"seed {args.seed}, lr {args.lr:g}, {args.updates} updates, {args.students} students per row")
    print(f"{'lesson':30s} {'tokens':>6s} {'fixed exam':>18s} {'held-out exam':>18s}")
    for name, plan in plans.items():
        lessons = [[pool[j] for j in plan()] for _ in range(args.students)]
        group = student.train(lessons, seeds, len(data.vocabulary), "cpu")
        fixed = [r.perplexity for r in exam.score(group, data.exam)]
        held = [r.perplexity for r in exam.score(group, data.heldout_exam)]
        tokens = statistics.fmean(sum(len(s) for s in lesson) for lesson in lessons)
        print(
            f"{name:30s} {tokens:6.1f} {statistics.fmean(fixed):10.3g} ± {statistics.pstdev(fixed):<5.2g}"
            f" {statistics.fmean(held):10.3g} ± {statistics.pstdev(held):<5.2g}",
            flush=True,
        )


if __name__ == "__main__":
    main()
