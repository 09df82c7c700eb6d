"""Which student recipes keep the paper's ordering (oracle < random < worst case) on every seed.

Runs `ilm baselines` once per recipe (a set of `--set` overrides on top of a config) and prints one
Markdown row per recipe: on how many seeds the ordering holds on the fixed exam and on the held-out
exam, the range over seeds of each baseline's mean perplexity, and the random/oracle and
worst/random ratios, next to the data-only columns (n-gram overlaps), which depend on the
environment and its reading, not on the student. Finished recipes are read back, not re-run.

    python experiments/baseline_orderings.py --out runs/orderings \
        "reading=no-repeat lr=3e-2 updates=40" "reading=alternation lr=1e-2 updates=20"

Short keys: reading -> environment.params.reading, anything else -> student.<key>; `runs=N`
sets the runs per seed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from ilm_report.baselines_cmd import ordered_seeds


def overrides(recipe: str) -> tuple[list[str], list[str]]:
    args, sets = [], []
    for item in recipe.split():
        key, _, value = item.partition("=")
        if key == "runs":
            args += ["--runs", value]
        elif key == "reading":
            sets.append(f"environment.params.reading={value}")
        else:
            sets.append(f"student.{key}={value}")
    return args, sets


def folder_name(recipe: str) -> str:
    return "_".join(item.replace("=", "-") for item in recipe.split()) or "config"


def compact(x: float) -> str:
    return f"{x:.3g}" if x < 1e3 else f"{x:.1e}".replace("e+0", "e")


def summary(table: dict) -> dict[str, str]:
    rows = {(r["baseline"], r["seed"]): r for r in table["rows"]}
    seeds = sorted({seed for _, seed in rows})

    def mean(baseline: str, seed: int, column: str) -> float:
        return rows[(baseline, seed)][column]["mean"]

    def ordered(column: str) -> int:
        return len(ordered_seeds(table["rows"], column)["holds"])

    def span(values: list[float], unit: str = "") -> str:
        return f"{compact(min(values))}-{compact(max(values))}{unit}"

    ppl = {b: [mean(b, s, "perplexity") for s in seeds] for b in ("oracle", "random", "worst-case")}

    def overlaps(baseline: str) -> str:
        grams = ("unigram", "bigram", "trigram")
        return "/".join(f"{sum(mean(baseline, s, 'overlap_' + n) for s in seeds) / len(seeds):.2f}" for n in grams)

    return {
        "fixed exam": f"{ordered('perplexity')}/{len(seeds)}",
        "held-out exam": f"{ordered('heldout_perplexity')}/{len(seeds)}",
        "oracle": span(ppl["oracle"]),
        "random": span(ppl["random"]),
        "worst case": span(ppl["worst-case"]),
        "random/oracle": span([r / o for r, o in zip(ppl["random"], ppl["oracle"], strict=True)], "x"),
        "worst/random": span([w / r for w, r in zip(ppl["worst-case"], ppl["random"], strict=True)], "x"),
        "overlaps 1/2/3-gram (oracle; random; worst)": "; ".join(map(overlaps, ("oracle", "random", "worst-case"))),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("recipes", nargs="+", help='e.g. "reading=no-repeat lr=3e-2 updates=40"')
    ap.add_argument("--config", default="configs/baselines-task2.toml")
    ap.add_argument("--env", default="structures")
    ap.add_argument("--out", default="runs/baseline-orderings")
    args = ap.parse_args()
    header = None
    for recipe in args.recipes:
        out = Path(args.out) / folder_name(recipe)
        if not (out / "baselines.json").exists():
            extra, sets = overrides(recipe)
            cmd = ["ilm", "baselines", "--env", args.env, "--config", args.config, "--out", str(out), *extra]
            for s in sets:
                cmd += ["--set", s]
            print(f"running: {' '.join(cmd)}", file=sys.stderr, flush=True)
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        row = summary(json.loads((out / "baselines.json").read_text()))
        if header is None:
            header = ["recipe", *row]
            print("| " + " | ".join(header) + " |")
            print("|" + "---|" * len(header))
        print("| " + " | ".join([recipe, *row.values()]) + " |", flush=True)


if __name__ == "__main__":
    main()
