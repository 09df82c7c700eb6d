"""Markdown tables of the language and exam studies (docs/roadmap-studies.md) from run directories.

python experiments/study_table.py runs RUN_FOLDER [--by environment.params.vocabulary_size ...]
    one row per run: its setting, seed, last-10-episode means and the episodes its teacher
    needed to send >= 90% exam-domain sentences (5 episodes in a row)
python experiments/study_table.py baselines BASELINES_FOLDER...
    per baselines folder: held-out means of oracle, random, worst case and on how many seeds
    oracle < random < worst case holds (feedback exam, held-out exam)
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from pathlib import Path

LAST = 10
REACHED = 0.9
STREAK = 5


def records(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]


def lookup(obj: dict, dotted: str):
    for part in dotted.split("."):
        obj = obj.get(part) if isinstance(obj, dict) else None
    return obj


def last(recs: list[dict], key: str) -> float | None:
    values = [lookup(r, key) for r in recs[-LAST:]]
    values = [v for v in values if v is not None]
    return statistics.fmean(values) if values else None


def episodes_to_reach(recs: list[dict]) -> int | None:
    fractions = [r["fraction_exam_domain"] for r in recs]
    for e in range(len(fractions) - STREAK + 1):
        if all(f >= REACHED for f in fractions[e : e + STREAK]):
            return e + 1
    return None


def fmt(value) -> str:
    if value is None:
        return "-"
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def runs_table(folder: Path, by: list[str], extra: list[str]) -> None:
    keys = ["fraction_exam_domain", "perplexity_mean", "heldout_perplexity_mean", *extra]
    print("| " + " | ".join(["teacher", *by, "seed", "episodes", *keys, "episodes to 0.9"]) + " |")
    print("|" + "---|" * (len(by) + len(keys) + 4))
    rows = []
    for config_path in sorted(folder.rglob("config.json")):
        run = config_path.parent
        if not (run / "metrics.jsonl").is_file():
            continue
        config = json.loads(config_path.read_text())
        recs = records(run)
        setting = [str(lookup(config, k)) for k in by]
        rows.append(
            [config["teacher"]["name"], *setting, str(config["seed"]), str(len(recs))]
            + [fmt(last(recs, k)) for k in keys]
            + [fmt(episodes_to_reach(recs))]
        )
    for row in sorted(rows):
        print("| " + " | ".join(row) + " |")


def baselines_table(folders: list[Path]) -> None:
    missing = [str(f) for f in folders if not (f / "baselines.json").is_file()]
    if missing:
        sys.exit(f"error: no baselines.json in {', '.join(missing)}: give folders that `ilm baselines --out` wrote")
    heads = ["folder", "oracle held-out", "random held-out", "worst-case held-out"]
    print("| " + " | ".join([*heads, "ordering (feedback exam)", "ordering (held-out)"]) + " |")
    print("|---|---|---|---|---|---|")
    for folder in folders:
        data = json.loads((folder / "baselines.json").read_text())
        means = {}
        for name in ("oracle", "random", "worst-case"):
            values = [r["heldout_perplexity"]["mean"] for r in data["rows"] if r["baseline"] == name]
            means[name] = statistics.fmean(values)
        print(
            f"| {folder.name} | {means['oracle']:.4g} | {means['random']:.4g} | {means['worst-case']:.4g} | "
            f"{holds(data['ordering']['perplexity'])} | {holds(data['ordering']['heldout_perplexity'])} |"
        )


def holds(check: dict) -> str:
    ok, bad = check["holds"], check["fails"]
    return f"{len(ok)}/{len(ok) + len(bad)}" + (f" (fails {', '.join(map(str, bad))})" if bad else "")


def pearson(x: list[float], y: list[float]) -> float | None:
    mx, my = statistics.fmean(x), statistics.fmean(y)
    sx, sy = math.sqrt(sum((a - mx) ** 2 for a in x)), math.sqrt(sum((b - my) ** 2 for b in y))
    return None if sx == 0 or sy == 0 else sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True)) / (sx * sy)


def signal_table(folder: Path) -> None:
    found: dict[str, list[float]] = {"pair accuracy": [], "minus log-perplexity": []}
    for path in folder.rglob("metrics.jsonl"):
        for record in records(path.parent):
            per = record["per_student"]
            scores = {"minus log-perplexity": [-math.log(p) for p in per["perplexity"]]}
            if "accuracy" in per:
                scores["pair accuracy"] = per["accuracy"]
            for name, values in scores.items():
                r = pearson(per["fraction_exam_domain"], values)
                if r is not None:
                    found[name].append(r)
    print("| per-student score | episodes | mean correlation with the exam-domain fraction |")
    print("|---|---|---|")
    for name, values in found.items():
        if values:
            print(f"| {name} | {len(values)} | {statistics.fmean(values):.2f} |")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog=__doc__.split("\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("mode", choices=["runs", "baselines", "signal"])
    parser.add_argument("rest", nargs=argparse.REMAINDER, help="the folders (and, for runs, --by KEY and record keys)")
    args = parser.parse_args(argv)
    if not args.rest:
        parser.error(f"{args.mode} needs a folder of runs")
    if args.mode == "signal":
        signal_table(Path(args.rest[0]))
        return
    if args.mode == "baselines":
        baselines_table([Path(p) for p in args.rest])
        return
    folder, by, extra = Path(args.rest[0]), [], []
    rest = iter(args.rest[1:])
    for arg in rest:
        if arg == "--by":
            key = next(rest, None)
            if key is None:
                parser.error("--by needs a config key, e.g. --by environment.params.vocabulary_size")
            by.append(key)
        else:
            extra.append(arg)
    runs_table(folder, by, extra)


if __name__ == "__main__":
    main(sys.argv[1:])
