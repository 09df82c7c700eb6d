"""Recipe study: how the student's recipe separates oracle, random and worst-case lessons.

For each recipe (updates x learning rate x size), trains `--runs` students per baseline and
seed and prints the mean exam perplexity and the random/oracle and worst/oracle ratios. This
is how the CPU defaults were chosen (see docs/reproduction.md).

    python experiments/recipe_study.py --env domains --seeds 6639,7519 --updates 20,100,400 --lrs 1e-3,3e-3
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from ilm_core import ExperimentConfig, build_environment, default_registry, resolve, seeding


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--env", default="domains")
    ap.add_argument("--env-set", default="{}", help="JSON params of the environment")
    ap.add_argument("--seeds", default="6639,7519")
    ap.add_argument("--updates", default="20,50,100,200,400")
    ap.add_argument("--lrs", default="1e-3,3e-3")
    ap.add_argument("--sizes", default="2x64", help="LAYERSxDIM,...")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--budget", type=int, default=10)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    reg = default_registry()
    import random

    rows = []
    for size in args.sizes.split(","):
        layers, dim = map(int, size.split("x"))
        for lr in map(float, args.lrs.split(",")):
            for updates in map(int, args.updates.split(",")):
                t0 = time.perf_counter()
                per = {"oracle": [], "random": [], "worst": []}
                for seed in map(int, args.seeds.split(",")):
                    raw = {"seed": seed, "environment": {"name": args.env, "params": json.loads(args.env_set)}}
                    cfg: ExperimentConfig = resolve(raw, reg)
                    data = build_environment(cfg, reg)
                    student = reg.build(
                        "student",
                        "transformer-lm",
                        {"updates": updates, "lr": lr, "layers": layers, "dim": dim, "ffn": 4 * dim},
                    )
                    exam = reg.build("exam", "perplexity", {"feedback": "fixed"})
                    rng = random.Random(seed)
                    inside = [i for i, x in enumerate(data.pool_in_exam_domain) if x]
                    outside = [i for i, x in enumerate(data.pool_in_exam_domain) if not x]
                    everything = list(range(len(data.pool)))
                    for name, cand in (("oracle", inside), ("random", everything), ("worst", outside)):
                        lessons = [[data.pool[j] for j in rng.sample(cand, args.budget)] for _ in range(args.runs)]
                        seeds = [seeding.derive(seed, "student", 0, i) for i in range(args.runs)]
                        group = student.train(lessons, seeds, len(data.vocabulary), "cpu")
                        per[name] += [r.perplexity for r in exam.score(group, data.heldout_exam)]
                m = {k: statistics.fmean(v) for k, v in per.items()}
                s = {k: statistics.pstdev(v) for k, v in per.items()}
                row = {
                    "size": size,
                    "lr": lr,
                    "updates": updates,
                    **{f"{k}_mean": m[k] for k in m},
                    **{f"{k}_std": s[k] for k in s},
                    "random/oracle": m["random"] / m["oracle"],
                    "worst/oracle": m["worst"] / m["oracle"],
                    "seconds": time.perf_counter() - t0,
                }
                rows.append(row)
                print(
                    f"{size} lr={lr:g} updates={updates:4d}: oracle {m['oracle']:9.3g}±{s['oracle']:.2g} "
                    f"random {m['random']:9.3g}±{s['random']:.2g} worst {m['worst']:9.3g}±{s['worst']:.2g} "
                    f"r/o {row['random/oracle']:6.2f} w/o {row['worst/oracle']:8.2f}",
                    flush=True,
                )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=2)


if __name__ == "__main__":
    main()
