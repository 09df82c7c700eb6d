"""Is the teacher's favourite lesson really better than its best lesson from the exam domain alone?

A teacher can only converge to what its reward prefers. This takes a finished run, reads its
teacher's ranking of the pool at the last checkpoint (as `ilm inspect` does), and builds

- the favourite lesson: the `budget` sentences the teacher values most, and
- the same lesson with every sentence from outside the exam's domain/structure replaced by the
  next exam-domain sentences of the ranking (the teacher's best lesson an oracle would accept).

It trains `--students` pairs of students with the run's own student recipe, one initialisation
per pair (paired comparison: the pair differs only in the swapped sentences), and scores both
on every sentence the run could be examined on: the held-out exam and the bank that fresh
feedback exams are drawn from. The difference in mean log perplexity, with its paired standard
error, says whether the reward prefers the mixed lesson (positive: the favourite is better).

    python experiments/favourite_lesson.py runs/task2-value-bandit/default/seed-4527
    python experiments/favourite_lesson.py RUN_DIR --students 48 --json out.json
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from pathlib import Path

from ilm_core import default_registry, seeding
from ilm_devkit.inspection import inspect_teacher


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", type=Path, help="run directories (each with a checkpoint)")
    ap.add_argument("--students", type=int, default=48, help="student pairs (one initialisation each)")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = ap.parse_args()
    registry = default_registry()
    results = []
    print(f"{'run':48s} {'swapped':>7s} {'favourite':>10s} {'all exam-domain':>15s} {'difference':>18s}")
    for run in args.runs:
        view = inspect_teacher(run, registry)
        cfg, data = view.config, view.data
        ranking = view.ranking()
        k = min(cfg.budget, len(ranking))
        favourite = [row["pool_index"] for row in ranking[:k]]
        inside = [row["pool_index"] for row in ranking if row["exam_domain"]]
        kept = [i for i in favourite if data.pool_in_exam_domain[i]]
        swapped_in = [i for i in inside if i not in kept][: k - len(kept)]
        pure = kept + swapped_in
        student = registry.build("student", cfg.student.name, cfg.student.params)
        exam = registry.build("exam", cfg.exam.name, cfg.exam.params)
        n = args.students
        seeds = [seeding.derive(cfg.seed, "favourite-lesson", i) for i in range(n)]
        lessons = [[data.pool[i] for i in favourite]] * n + [[data.pool[i] for i in pure]] * n
        group = student.train(lessons, seeds + seeds, len(data.vocabulary), cfg.device)
        sentences = list(data.heldout_exam) + list(data.exam_bank)
        log_ppl = [math.log(r.perplexity) for r in exam.score(group, sentences)]
        diff = [log_ppl[n + i] - log_ppl[i] for i in range(n)]  # > 0: the favourite lesson is better
        mean, se = statistics.fmean(diff), statistics.stdev(diff) / math.sqrt(n) if n > 1 else float("nan")
        fav_ppl = math.exp(statistics.fmean(log_ppl[:n]))
        pure_ppl = math.exp(statistics.fmean(log_ppl[n:]))
        print(
            f"{str(run)[-48:]:48s} {k - len(kept):7d} {fav_ppl:10.3f} {pure_ppl:15.3f} {mean:+9.4f} ± {se:.4f}",
            flush=True,
        )
        results.append(
            {
                "run": str(run),
                "episode": view.episode,
                "swapped": k - len(kept),
                "favourite": [" ".join(data.vocabulary[t] for t in data.pool[i]) for i in favourite],
                "swapped_out": [" ".join(data.vocabulary[t] for t in data.pool[i]) for i in favourite if i not in kept],
                "swapped_in": [" ".join(data.vocabulary[t] for t in data.pool[i]) for i in swapped_in],
                "perplexity_favourite": fav_ppl,
                "perplexity_exam_domain_only": pure_ppl,
                "log_ppl_gain_of_favourite": mean,
                "standard_error": se,
                "pairs": n,
                "exam_sentences": len(sentences),
            }
        )
    print("difference = mean log perplexity of the all-exam-domain lesson minus the favourite's (paired, ± s.e.)")
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
