"""Tables of the teacher-feedback study (docs/feedback.md) from the runs of experiments/feedback_study.sh.

For each task (the hidden-goal task, plain Task 1) and teacher, per seed: the held-out exam
perplexity averaged over the last `--last` episodes (the references, which do not learn, over all
their episodes) and the share of each student's own exam domain in the lessons of the rounds after
the first. Then the mean over seeds with its 95% t-interval, the paired difference feedback given
minus withheld (and minus shuffled, each student's scores heard as another's, and minus withheld
with the first round's probe kept, where they were run),
and the share of the blind-to-oracle gap that listening closes.

    python experiments/feedback_study.py runs/feedback-study [--last 20] [--csv docs/data/feedback-study.csv]
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
from pathlib import Path

from ilm_report.runs import mean_ci95

TEACHERS = ("feedback-given", "feedback-withheld", "random", "oracle")
#: an arm beside them where it was run: each student's scores heard as another student's
SHUFFLED = "feedback-shuffled"
#: ... and withheld, but with the first round's probe (`teacher.probe_withheld`): only what comes back differs
PROBING = "feedback-withheld-probing"
EXTRA = (SHUFFLED, PROBING)
#: the arms that a setting of feedback-bin's probe or listening cannot change: withheld (it neither
#: probes nor hears) and the fixed teachers
NOT_LISTENING = ("feedback-withheld", "random", "oracle")
#: arms a task takes from other tasks ([(source task, the arms taken)]), which would run them the same: the
#: fixed teachers (random, oracle) get the same lessons and exams with send-in-batches; withheld,
#: feedback-bin never probes
BORROWED: dict[str, list[tuple[str, tuple[str, ...]]]] = {
    "batches": [("goals", ("random", "oracle"))],
    "task1-noprobe": [("task1", NOT_LISTENING)],
    "task1-long": [("task1", ("random", "oracle"))],
    "mixed-peers-kind": [("mixed", NOT_LISTENING)],
    "mixed-probe-0.5": [("mixed", NOT_LISTENING)],
    "mixed-probe-1.0": [("mixed", NOT_LISTENING)],
    "mixed-probe-3.0": [("mixed", NOT_LISTENING)],
    "goals-axis": [("goals", NOT_LISTENING)],
    "task1-axis": [("task1", NOT_LISTENING)],
    "mixed-axis": [("mixed", NOT_LISTENING)],
    "goals-pooled": [("goals", NOT_LISTENING)],
    "task1-pooled": [("task1", NOT_LISTENING)],
    "goals-individual": [("goals", NOT_LISTENING)],
    "task1-individual": [("task1", NOT_LISTENING)],
    "goals-individual-listen-lr": [("goals", NOT_LISTENING)],
    "task1-individual-listen-lr": [("task1", NOT_LISTENING)],
    "task1-listen-lr": [("task1", NOT_LISTENING)],
    "goals-listen-lr": [("goals", NOT_LISTENING)],
    "task1-long-listen-lr": [("task1-long", ("feedback-withheld",)), ("task1", ("random", "oracle"))],
    "task1-fixed-pooled": [("task1-fixed", NOT_LISTENING)],
    "task1-same-pooled": [("task1-same", NOT_LISTENING)],
    "confirm-goals-listen-lr": [("confirm-goals", NOT_LISTENING)],
    "confirm-task1-listen-lr": [("confirm-task1", NOT_LISTENING)],
    "confirm-goals-individual": [("confirm-goals", NOT_LISTENING)],
    "confirm-task1-individual": [("confirm-task1", NOT_LISTENING)],
    "confirm301-goals-individual": [("confirm301-goals", NOT_LISTENING)],
    "confirm301-task1-individual": [("confirm301-task1", NOT_LISTENING)],
    "batches-individual": [("batches-listen-lr", NOT_LISTENING)],
    "mixed-individual": [("mixed-listen-lr", NOT_LISTENING)],
}


def groups(run: Path) -> dict[str, list[int]]:
    """The run's population groups and their students' indices (none without a population)."""
    population = json.loads((run / "config.json").read_text()).get("population") or []
    out, start = {}, 0
    for group in population:
        out[group["name"]] = list(range(start, start + group["count"]))
        start += group["count"]
    return out


def run_values(run: Path, last: int | None) -> dict[str, float]:
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    tail = records[-last:] if last else records
    later = [r["rounds"][k]["fraction_exam_domain"] for r in tail for k in range(1, len(r["rounds"]))]
    values = {
        "heldout": statistics.fmean(r["heldout_perplexity_mean"] for r in tail),
        "later_fraction": statistics.fmean(later),
        "seconds_per_episode": statistics.fmean(r["seconds"] for r in records),
        "episodes": float(len(records)),
    }
    for name, students in groups(run).items():  # per kind of student: held-out, own-goal share of the lesson
        kept = [r["per_student"] for r in tail]
        values[f"heldout_{name}"] = statistics.fmean(p["heldout_perplexity"][i] for p in kept for i in students)
        values[f"fraction_{name}"] = statistics.fmean(p["fraction_exam_domain"][i] for p in kept for i in students)
    return values


def curves(task: Path, teacher: str) -> tuple[list[float], list[float]]:
    """Per episode, the mean over seeds of the held-out perplexity and of the own-goal share in rounds 2+."""
    runs = [
        [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
        for run in sorted((task / teacher).glob("seed-*"))
        if (run / "summary.json").is_file()
    ]
    episodes = min(len(r) for r in runs)
    heldout = [statistics.fmean(r[e]["heldout_perplexity_mean"] for r in runs) for e in range(episodes)]
    share = [
        statistics.fmean(
            statistics.fmean(r[e]["rounds"][k]["fraction_exam_domain"] for k in range(1, len(r[e]["rounds"])))
            for r in runs
        )
        for e in range(episodes)
    ]
    return heldout, share


def plot_curves(task: Path, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    for teacher, colour in (("feedback-given", "C0"), ("feedback-withheld", "C1"), ("random", "C7"), ("oracle", "C2")):
        heldout, share = curves(task, teacher)
        if teacher in ("random", "oracle"):  # they do not learn: their mean level
            left.axhline(statistics.fmean(heldout), color=colour, linestyle="--", label=teacher)
            right.axhline(statistics.fmean(share), color=colour, linestyle="--", label=teacher)
            continue
        left.plot(heldout, color=colour, label=f"feedback-bin, feedback {teacher.split('-')[1]}")
        right.plot(share, color=colour, label=f"feedback-bin, feedback {teacher.split('-')[1]}")
    left.set(xlabel="episode", ylabel="held-out perplexity (mean of 10 seeds)")
    right.set(xlabel="episode", ylabel="own-goal share of rounds 2-3 lessons")
    handles, labels = left.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=4, frameon=False)
    fig.suptitle("Hidden per-student goals: feedback-bin with feedback given and withheld")
    fig.tight_layout(rect=(0, 0.1, 1, 0.95))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    print(f"figure: {path}")


def pm(pair: tuple[float, float], spec: str = ".2f") -> str:
    mean, half = pair
    return f"{mean:{spec}} ± {half:{spec}}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--last", type=int, default=20, help="episodes of a learning teacher's run to average")
    parser.add_argument("--csv", type=Path, default=None, help="write the per-seed values here")
    parser.add_argument("--plot", type=Path, default=None, help="write the hidden-goal task's learning curves here")
    args = parser.parse_args()
    if args.plot:
        plot_curves(args.out / "goals", args.plot)
    rows = []
    for task_dir in sorted(p for p in args.out.iterdir() if p.is_dir()):
        values: dict[str, dict[int, dict[str, float]]] = {}
        for teacher in (*TEACHERS, *EXTRA):
            sources = [source for source, shared in BORROWED.get(task_dir.name, []) if teacher in shared]
            where = args.out / sources[0] if sources else task_dir
            for run in sorted((where / teacher).glob("seed-*")):
                if not (run / "summary.json").is_file():
                    continue
                seed = int(run.name.removeprefix("seed-"))
                learner = teacher.startswith("feedback")
                values.setdefault(teacher, {})[seed] = run_values(run, args.last if learner else None)
                rows.append({"task": task_dir.name, "teacher": teacher, "seed": seed, **values[teacher][seed]})
        present = [t for t in (*TEACHERS, *EXTRA) if values.get(t)]  # a task may lack an arm (not run)
        seeds = sorted(set.intersection(*(set(values[t]) for t in present))) if present else []
        absent = [t for t in TEACHERS if t not in present]
        missing = f"; not run: {', '.join(absent)}" if absent else ""
        print(f"\n## {task_dir.name}: {len(seeds)} seeds with every teacher ({', '.join(map(str, seeds))}){missing}")
        if not seeds:
            continue
        print("| teacher | held-out ppl | own-goal share, rounds 2+ | s/episode |")
        print("|---|---|---|---|")
        for teacher in present:
            got = [values[teacher][s] for s in seeds]
            print(
                f"| {teacher} | {pm(mean_ci95([g['heldout'] for g in got]))} | "
                f"{pm(mean_ci95([g['later_fraction'] for g in got]))} | "
                f"{statistics.fmean(g['seconds_per_episode'] for g in got):.2f} |"
            )
        held = {t: [values[t][s]["heldout"] for s in seeds] for t in present}
        given, withheld, random, oracle = (held.get(t) for t in TEACHERS)
        if given and withheld:
            diff = [g - w for g, w in zip(given, withheld, strict=True)]
            print(f"\ngiven - withheld (held-out ppl, paired by seed): {pm(mean_ci95(diff))}")
        for arm in EXTRA:
            if given and held.get(arm):
                diff = [g - s for g, s in zip(given, held[arm], strict=True)]
                name = arm.removeprefix("feedback-")
                print(f"given - {name} (held-out ppl, paired by seed): {pm(mean_ci95(diff))}")
        if random and oracle:
            gap = [r - o for r, o in zip(random, oracle, strict=True)]
            print(f"random - oracle (the gap a blind lesson leaves): {pm(mean_ci95(gap))}")
            if given:
                closed = [(r - g) / (r - o) for r, g, o in zip(random, given, oracle, strict=True)]
                of_mean = (statistics.fmean(random) - statistics.fmean(given)) / statistics.fmean(gap)
                print(
                    "share of that gap feedback-bin closes, (random - given) / (random - oracle): "
                    f"{pm(mean_ci95(closed))}; of the mean gap: {of_mean:.2f}"
                )
                print(f"oracle - given: {pm(mean_ci95([o - g for o, g in zip(oracle, given, strict=True)]))}")
        kinds = [k.removeprefix("heldout_") for k in values[present[0]][seeds[0]] if k.startswith("heldout_")]
        for name in kinds:  # per kind of student (a population's groups)
            by = {t: [values[t][s][f"heldout_{name}"] for s in seeds] for t in present}
            share = {t: [values[t][s][f"fraction_{name}"] for s in seeds] for t in present}
            print(
                f"{name} students: held-out "
                + ", ".join(f"{t} {pm(mean_ci95(by[t]))}" for t in present)
                + "; own-goal share of the whole lesson "
                + ", ".join(f"{t} {pm(mean_ci95(share[t]))}" for t in present)
            )
            if all(t in present for t in TEACHERS):
                g, w, r, o = (by[t] for t in TEACHERS)
                d = [x - y for x, y in zip(g, w, strict=True)]
                c = [(ri - gi) / (ri - oi) for ri, gi, oi in zip(r, g, o, strict=True)]
                print(f"  {name}: given - withheld {pm(mean_ci95(d))}; share of the gap closed {pm(mean_ci95(c))}")
        print("per seed (held-out ppl): seed | " + " | ".join(present))
        for s in seeds:
            print(f"  {s} | " + " | ".join(f"{values[t][s]['heldout']:.2f}" for t in present))
    if args.csv:
        args.csv.parent.mkdir(parents=True, exist_ok=True)
        with args.csv.open("w", newline="") as handle:
            fields = list(dict.fromkeys(k for row in rows for k in row))
            writer = csv.DictWriter(handle, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)
        print(f"\nper-seed values: {args.csv}")


if __name__ == "__main__":
    main()
