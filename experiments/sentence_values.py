"""What each pool sentence is worth to the reward: an additive model fitted on random lessons.

A teacher that maximises its reward converges to the lesson the reward prefers. This trains
students on many random Task 2 lessons (groups of N students sharing one initialisation, as
`student_init = "shared"` does within an episode), scores them on the held-out exam, and fits
reward = group effect + mean of the lesson's sentence values (ridge least squares, with the
value-bandit teacher's own model). It then prints how many Structure 1 sentences are among
the best-valued 10 and 20 sentences and what lessons made of the best-valued sentences are
predicted to score, so one can read off whether the reward itself asks for a Structure 1
fraction of 0.9, or a teacher that fails to reach it fails to optimise.

Values are marginal values in the context the lessons are drawn from, and sentences interact
(a lesson of ten long sentences gains less from one more long sentence than a lesson of short
ones): `--context random` draws uniform random lessons (about two Structure 1 sentences each),
`--context near-oracle` lessons of 7 to 10 Structure 1 sentences, the neighbourhood a teacher
that is close to converging explores.

    python experiments/sentence_values.py --seed 7519 --lessons 2400
    python experiments/sentence_values.py --seed 1007 --lessons 2400 --context near-oracle
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
from typing import Any

import torch
from task2_setup import add_arguments, build

from ilm_core import Feedback, Lesson, TeacherContext, seeding, set_up
from ilm_plugins.teachers import ValueBanditParams
from ilm_plugins.teachers.value_bandit import ValueBanditTeacher


def value_model(data: Any, budget: int, students: int, ridge: float, seed: int) -> ValueBanditTeacher:
    """The value-bandit teacher's own model, used here only to fit: fixed unit noise and a prior
    wide enough that its ridge is `ridge`, so the fit is within-group least squares."""
    teacher = ValueBanditTeacher(ValueBanditParams(noise_std=1.0, prior_std=1.0 / math.sqrt(ridge)))
    set_up(teacher, TeacherContext.of(data, budget=budget, n_students=students, seed=seed))
    return teacher


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(ap)
    ap.add_argument("--students", type=int, default=12, help="students per shared initialisation")
    ap.add_argument("--lessons", type=int, default=2400, help="lessons in all")
    ap.add_argument("--budget", type=int, default=10)
    ap.add_argument("--ridge", type=float, default=1e-3)
    ap.add_argument("--context", default="random", choices=["random", "near-oracle"])
    args = ap.parse_args()
    data, student, exam = build(args)
    pool, s1 = data.pool, data.pool_in_exam_domain
    n = len(pool)
    rng = random.Random(args.seed)
    ones = [i for i in range(n) if s1[i]]
    twos = [i for i in range(n) if not s1[i]]

    def draw() -> list[int]:
        if args.context == "random":
            return rng.sample(range(n), args.budget)
        k = rng.randint(args.budget - 3, args.budget)
        return rng.sample(ones, k) + rng.sample(twos, args.budget - k)

    model = value_model(data, args.budget, args.students, args.ridge, args.seed)
    n_groups = math.ceil(args.lessons / args.students)
    for k in range(n_groups):
        picks = [draw() for _ in range(args.students)]
        seeds = [seeding.derive(args.seed, "values", k)] * args.students
        trained = student.train([[pool[i] for i in p] for p in picks], seeds, len(data.vocabulary), "cpu")
        reports = exam.score(trained, data.heldout_exam)
        model.learn(
            [
                Feedback(student=i, lesson=Lesson(student=i, indices=p), perplexity=r.perplexity)
                for i, (p, r) in enumerate(zip(picks, reports, strict=True))
            ]
        )
        if (k + 1) % 20 == 0:
            print(f"  {k + 1}/{n_groups} groups", flush=True)
    v = model.scores()
    v = v - v.mean()
    order = sorted(range(n), key=lambda i: -float(v[i]))
    n_s1 = sum(s1)
    v1 = [float(v[i]) for i in range(n) if s1[i]]
    v2 = [float(v[i]) for i in range(n) if not s1[i]]
    lengths = torch.tensor([len(s) for s in pool], dtype=torch.float64)
    corr_len = float(torch.corrcoef(torch.stack([v, lengths]))[0, 1])
    print(
        f"seed {args.seed}, lr {args.lr:g}, {args.updates} updates; {model.lessons_seen} {args.context} lessons, "
        f"pool {n} ({n_s1} S1)"
    )
    print(f"value of a Structure 1 sentence: {statistics.fmean(v1):+.3f} ± {statistics.pstdev(v1):.3f}")
    print(f"value of a Structure 2 sentence: {statistics.fmean(v2):+.3f} ± {statistics.pstdev(v2):.3f}")
    print(f"correlation of value with sentence length: {corr_len:+.2f}")
    for top in (args.budget, n_s1):
        print(f"Structure 1 sentences among the best-valued {top}: {sum(s1[i] for i in order[:top])}")
    best = order[: args.budget]
    s1_best = [i for i in order if s1[i]][: args.budget]
    for name, lesson in [("best-valued lesson", best), ("best-valued Structure 1 only", s1_best)]:
        frac = sum(s1[i] for i in lesson) / len(lesson)
        gain = float(v[lesson].mean())
        print(f"{name:30s} fraction {frac:.1f}, predicted reward above the average drawn lesson {gain:+.3f}")
    s2_rank = [r for r, i in enumerate(order) if not s1[i]]
    print(
        f"best rank of a Structure 2 sentence: {s2_rank[0] + 1}; S2 sentences in the top {n_s1}: "
        + ", ".join(f"#{r + 1} (len {len(pool[order[r]])})" for r in s2_rank if r < n_s1)
    )


if __name__ == "__main__":
    main()
