"""The paper's regime: student recipes along one axis, and the paper's own teacher combination.

Resumable: every run writes its own folder under `--out`; finished runs are read back, not re-run.
Run with `ILM_THREADS=1` on a shared machine; `--jobs` runs that many at a time (default 2).

    python experiments/regime_study.py ratios      --out runs/regime   # (a) baselines per recipe, both tasks
    python experiments/regime_study.py teachers    --out runs/regime   # (b), (c) select-bin per recipe
    python experiments/regime_study.py chosen      --out runs/regime   # the chosen recipe, Task 1, ten seeds
    python experiments/regime_study.py combination --out runs/regime   # ours against the paper's combination
    python experiments/regime_study.py report      --out runs/regime   # tables, CSVs under docs/data, the plot

## The axis

One axis: the student's training budget, learning rate x updates (how far an Adam student can
move from its initialisation), for the native 2x64 `transformer-lm` student, from the Task 1
teachers' recipe (lr 1e-3 x 20 updates) through the Task 2 teachers' recipe (1e-2 x 20) up to
students that fit their lesson hard (3e-2 x 20, 50, 120). Model size and the paper's 6x512 are
not on the axis: one 6x512 run costs about 12 CPU-hours (docs/reproduction.md).

## What is measured, per recipe and task

(a) `ilm baselines` (the task's baselines config, only lr and updates changed), the paper's five
    seeds, 5 students per seed and baseline, fixed exam as in the paper: per seed, mean random /
    mean oracle perplexity and mean worst / mean oracle; the recipe's figure is the geometric mean
    of the five per-seed ratios, beside the paper's (its Tables 3 and 4, same seeds).
(b) select-bin with the task's teacher config (`configs/task{1,2}-select-bin.toml`, fresh feedback
    exam, 12 students), only lr and updates changed, on tuning seeds 11, 12, 13 (never the seeds
    of (a) or of the ten-seed runs). Task 1: 10 episodes; episodes to 0.9 = the first episode
    (1-based) whose fraction of V1 lessons is >= 0.9. Task 2: 30 episodes (Task 2 recipes from
    1e-2 x 20 up; 2 seeds, 11 and 12), the mean fraction of Structure 1 lessons over the last 10.
    Cut for compute once the study ran: Task 2's teacher at 3e-2 x 120 is not run (its ratios are).
(c) seconds per episode: the median over all episodes of (b) of the run's own episode seconds.

## The selection rule (written and committed before any result of this study was seen)

1. Task 1: the teacher *still learns* under a recipe when, on every tuning seed, the mean V1
   fraction of the last 5 of its 10 episodes is >= 0.9.
   Task 2: when the mean over its seeds of the last-10 Structure 1 fraction is >= 0.30 (the pool
   holds 0.20; a random teacher sends 0.20).
2. Among the recipes in which the teacher still learns, choose the one whose random / oracle
   ratio (geometric mean over the five seeds, fixed exam) is closest to the paper's
   (geometric mean of its five per-seed ratios) in |log(ours) - log(paper)|; on a tie within
   1% of that distance, the cheaper recipe (fewer seconds per episode).
3. The recipe "reaches the paper's regime" only if its ratio is within a factor 2 of the paper's.
   If none does, the closest learnable recipe is still reported, with the statement that no CPU
   recipe of this axis reaches the paper's regime.
4. Task 1's chosen recipe is then run on ten seeds (the paper's five and 101-105), 10 episodes:
   last-5 V1 fraction, mean and 95% t-interval, per-seed values in docs/data/.

## The paper's combination (`combination`)

Each task's teacher config, ten seeds, beside the same config with the paper's choices
(Section 4, Appendix A): reward minus perplexity (`teacher.reward=neg_perplexity`), no baseline
(`teacher.baseline=none`), independent student initialisation (`student_init=independent`) and
one fixed exam (`exam.feedback=fixed`), 12 students; and, on Task 1, each of these swapped alone,
so that every row of the deviations table has a measured effect (ours minus paper's); on Task 2
also ours under the `alternation` reading of the structures, beside `no-repeat`. The
students stay the teachers' recipe (the paper's 6x512 are out of CPU reach) and episodes are cut
to 10 on both tasks (the headline runs 20 and 200); each paper choice alone and Task 2's second
reading run on the paper's five seeds only (compute). The measure: the teacher's last-5
fraction of exam-domain lessons and its students' held-out perplexity; the effect is the
mean over seeds of the paired difference (same seed) with its 95% t-interval.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ilm_report.runs import mean_ci95

PAPER_SEEDS = (6639, 7519, 1007, 4520, 4527)
TEN_SEEDS = (*PAPER_SEEDS, 101, 102, 103, 104, 105)
TUNING = {1: (11, 12, 13), 2: (11, 12)}
EPISODES = {1: 10, 2: 30}
LAST = {1: 5, 2: 10}
#: the axis, in increasing lr x updates: (lr, updates)
RECIPES = (("1e-3", 20), ("1e-2", 20), ("3e-2", 20), ("3e-2", 50), ("3e-2", 120))
TEACHER_RECIPES = {1: ("1e-3", 20), 2: ("1e-2", 20)}
#: Task 2 teachers are studied from the Task 2 teachers' recipe up to 3e-2 x 50: 3e-2 x 120 (about 22 s an
#: episode on the shared 2-core machine) did not fit the compute of this study
TEACHER_AXIS = {1: RECIPES, 2: RECIPES[1:4]}
#: episodes of the combination runs, cut for compute (the headline's: 20 and 200), and the last ones measured
COMBINATION_EPISODES = {1: 10, 2: 10}
COMBINATION_LAST = {1: 5, 2: 5}
#: settings run on the paper's five seeds only (compute): each paper choice alone, Task 2's second reading
FIVE_SEED_SETTINGS = ("paper reward", "paper baseline", "paper feedback_exam", "ours alternation")
BASELINES = {1: ("domains", "configs/baselines-task1.toml"), 2: ("structures", "configs/baselines-task2.toml")}
TEACHERS = {1: "configs/task1-select-bin.toml", 2: "configs/task2-select-bin.toml"}
#: the paper's Tables 3 and 4 (fixed exam, mean of five students), seeds as PAPER_SEEDS
PAPER = {
    1: {
        "oracle": (14.99, 44.37, 68.95, 15.65, 23.66),
        "random": (193.9, 683.1, 742.5, 160.9, 307.1),
        "worst": (8.46e4, 7.03e4, 8.17e4, 4.78e4, 6.69e4),
    },
    2: {
        "oracle": (6.97, 7.63, 7.90, 6.82, 9.43),
        "random": (119.0, 162.8, 234.1, 161.7, 342.1),
        "worst": (595.3, 317.2, 508.1, 299.6, 432.8),
    },
}
#: the paper's choices, each as the override that restores it (ours is the config's value)
PAPER_CHOICES = {
    "reward": "teacher.reward=neg_perplexity",
    "baseline": "teacher.baseline=none",
    "student_init": "student_init=independent",
    "feedback_exam": "exam.feedback=fixed",
}
SWAPS = {1: ("reward", "baseline", "feedback_exam"), 2: ()}  # Task 1 already starts students independently


def name(lr: str, updates: int) -> str:
    return f"lr-{lr}_updates-{updates}"


def geomean(values: list[float]) -> float:
    return math.exp(statistics.fmean(math.log(v) for v in values))


def run_all(commands: list[tuple[list[str], Path]], jobs: int) -> None:
    """Run the commands whose folder holds no finished result, `jobs` at a time; a run that was
    interrupted (its folder has a config but no summary) is resumed from its last checkpoint."""
    todo = [(cmd, done) for cmd, done in commands if not done.exists()]
    print(f"{len(commands) - len(todo)} finished, {len(todo)} to run", file=sys.stderr, flush=True)

    def one(item: tuple[list[str], Path]) -> None:
        cmd, done = item
        if cmd[:2] == ["ilm", "run"] and (done.parent / "config.json").exists():
            cmd = ["ilm", "run", "--resume", str(done.parent), "--quiet"]  # an interrupted run goes on
        print("running:", " ".join(cmd), file=sys.stderr, flush=True)
        log = done.parent.with_suffix(".log") if done.name == "summary.json" else done.with_suffix(".log")
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("w") as fh:
            subprocess.run(cmd, check=True, stdout=fh, stderr=subprocess.STDOUT, env={**os.environ})

    with ThreadPoolExecutor(jobs) as pool:
        list(pool.map(one, todo))


# -- (a) ratios ---------------------------------------------------------------------------------


def ratio_commands(out: Path) -> list[tuple[list[str], Path]]:
    commands = []
    for task, (env, config) in BASELINES.items():
        for lr, updates in RECIPES:
            folder = out / f"ratios-task{task}" / name(lr, updates)
            cmd = ["ilm", "baselines", "--env", env, "--config", config, "--out", str(folder), "--runs", "5"]
            cmd += ["--seeds", ",".join(map(str, PAPER_SEEDS)), "--set", f"student.lr={lr}"]
            cmd += ["--set", f"student.updates={updates}"]
            commands.append((cmd, folder / "baselines.json"))
    return commands


def ratios(out: Path, task: int, lr: str, updates: int) -> dict | None:
    path = out / f"ratios-task{task}" / name(lr, updates) / "baselines.json"
    if not path.exists():
        return None
    rows = json.loads(path.read_text())["rows"]
    by = {(r["rank"], r["seed"]): r for r in rows}
    result: dict = {"seeds": list(PAPER_SEEDS)}
    for exam in ("perplexity", "heldout_perplexity"):
        for kind, rank in (("random", "chance"), ("worst", "worst")):
            per = [by[(rank, s)][exam]["mean"] / by[("best", s)][exam]["mean"] for s in PAPER_SEEDS]
            result[f"{kind}/oracle {exam}"] = per
    result["oracle"] = [by[("best", s)]["perplexity"]["mean"] for s in PAPER_SEEDS]
    return result


def paper_ratio(task: int, kind: str) -> list[float]:
    p = PAPER[task]
    return [a / o for a, o in zip(p[kind], p["oracle"], strict=True)]


# -- (b), (c) teachers --------------------------------------------------------------------------


def teacher_cmd(task: int, folder: Path, seed: int, episodes: int, sets: list[str]) -> list[str]:
    cmd = ["ilm", "run", "--config", TEACHERS[task], "--seed", str(seed), "--episodes", str(episodes)]
    cmd += ["--out", str(folder), "--quiet"]
    for s in sets:
        cmd += ["--set", s]
    return cmd


def recipe_sets(lr: str, updates: int) -> list[str]:
    return [f"student.lr={lr}", f"student.updates={updates}"]


def teacher_commands(out: Path) -> list[tuple[list[str], Path]]:
    commands = []
    for task in (1, 2):
        for lr, updates in TEACHER_AXIS[task]:
            for seed in TUNING[task]:
                folder = out / f"teachers-task{task}" / name(lr, updates) / f"seed-{seed}"
                cmd = teacher_cmd(task, folder, seed, EPISODES[task], recipe_sets(lr, updates))
                commands.append((cmd, folder / "summary.json"))
    return commands


def records(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines() if line.strip()]


def run_measures(folder: Path, last: int) -> dict | None:
    if not (folder / "summary.json").exists():
        return None
    recs = records(folder)
    fractions = [r["fraction_exam_domain"] for r in recs]
    first = next((i + 1 for i, f in enumerate(fractions) if f >= 0.9), None)
    return {
        "fractions": fractions,
        "last": statistics.fmean(fractions[-last:]),
        "heldout": statistics.fmean(r["heldout_perplexity_mean"] for r in recs[-last:]),
        "to_0.9": first,
        "seconds": [r["seconds"] for r in recs],
    }


def teacher_result(out: Path, task: int, lr: str, updates: int) -> dict | None:
    runs = [
        run_measures(out / f"teachers-task{task}" / name(lr, updates) / f"seed-{s}", LAST[task]) for s in TUNING[task]
    ]
    if any(r is None for r in runs):
        return None
    lasts = [r["last"] for r in runs]
    learns = min(lasts) >= 0.9 if task == 1 else statistics.fmean(lasts) >= 0.30
    return {
        "last": lasts,
        "to_0.9": [r["to_0.9"] for r in runs],
        "seconds_per_episode": statistics.median(s for r in runs for s in r["seconds"]),
        "learns": learns,
    }


def choose(out: Path, task: int) -> dict | None:
    """The rule of the docstring, on the finished results (None while any is missing)."""
    paper = geomean(paper_ratio(task, "random"))
    rows = []
    for lr, updates in TEACHER_AXIS[task]:
        a, b = ratios(out, task, lr, updates), teacher_result(out, task, lr, updates)
        if a is None or b is None:
            return None
        ours = geomean(a["random/oracle perplexity"])
        rows.append({"lr": lr, "updates": updates, "ratio": ours, "distance": abs(math.log(ours / paper)), **b})
    learnable = [r for r in rows if r["learns"]]
    if not learnable:
        return {"chosen": None, "paper": paper, "rows": rows, "reaches": False}
    best = min(r["distance"] for r in learnable)
    ties = [r for r in learnable if r["distance"] <= best * 1.01 + 1e-12]
    chosen = min(ties, key=lambda r: r["seconds_per_episode"])
    return {"chosen": chosen, "paper": paper, "rows": rows, "reaches": chosen["distance"] <= math.log(2)}


# -- the chosen recipe on ten seeds, and the paper's combination --------------------------------


def chosen_commands(out: Path) -> list[tuple[list[str], Path]]:
    choice = choose(out, 1)
    if choice is None or choice["chosen"] is None:
        sys.exit("the Task 1 choice needs every (a) and (b) result of Task 1 first (and a learnable recipe)")
    lr, updates = choice["chosen"]["lr"], choice["chosen"]["updates"]
    commands = []
    for seed in TEN_SEEDS:
        folder = out / "chosen-task1" / name(lr, updates) / f"seed-{seed}"
        commands.append((teacher_cmd(1, folder, seed, EPISODES[1], recipe_sets(lr, updates)), folder / "summary.json"))
    return commands


def combination_settings(task: int) -> dict[str, list[str]]:
    """setting name -> overrides: ours, the paper's combination, and each paper choice alone (Task 1);
    on Task 2 also ours under the other reading of the structures (the same teacher, both readings)."""
    settings = {"ours": [], "paper": list(PAPER_CHOICES.values())}
    for row in SWAPS[task]:
        settings[f"paper {row}"] = [PAPER_CHOICES[row]]
    if task == 2:
        settings["ours alternation"] = ["environment.params.reading=alternation"]
    return settings


def combination_seeds(setting: str) -> tuple[int, ...]:
    return PAPER_SEEDS if setting in FIVE_SEED_SETTINGS else TEN_SEEDS


def combination_commands(out: Path, tasks: tuple[int, ...]) -> list[tuple[list[str], Path]]:
    commands = []
    for task in tasks:
        for setting, sets in combination_settings(task).items():
            for seed in combination_seeds(setting):
                folder = out / f"combination-task{task}" / setting.replace(" ", "-") / f"seed-{seed}"
                cmd = teacher_cmd(task, folder, seed, COMBINATION_EPISODES[task], sets)
                commands.append((cmd, folder / "summary.json"))

    # ours and the paper's combination first (Task 1, then Task 2), then the five-seed settings; seed-major
    # within each, so an interrupted study has every setting on its first seeds
    def order(c: tuple[list[str], Path]) -> tuple:
        setting = c[1].parent.parent.name
        task = c[1].parent.parent.parent.name
        return (setting not in ("ours", "paper"), task, TEN_SEEDS.index(int(c[1].parent.name[5:])), setting)

    return sorted(commands, key=order)


# -- report -------------------------------------------------------------------------------------


def fmt_ci(values: list[float], spec: str = ".2f") -> str:
    mean, half = mean_ci95(values)
    return f"{mean:{spec}} ± {half:{spec}}" if not math.isnan(half) else f"{mean:{spec}}"


def write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    print(f"written: {path}", file=sys.stderr)


def report(out: Path, data: Path, figure: Path | None) -> None:
    # (a): per seed, every recipe and task
    rows = []
    for task in (1, 2):
        for lr, updates in RECIPES:
            a = ratios(out, task, lr, updates)
            if a is None:
                continue
            for i, seed in enumerate(PAPER_SEEDS):
                rows.append(
                    [task, lr, updates, seed, a["oracle"][i]]
                    + [round(a[k][i], 4) for k in ("random/oracle perplexity", "worst/oracle perplexity")]
                    + [
                        round(a[k][i], 4)
                        for k in ("random/oracle heldout_perplexity", "worst/oracle heldout_perplexity")
                    ]
                )
    header = [
        "task",
        "lr",
        "updates",
        "seed",
        "oracle_ppl_fixed",
        "random_over_oracle_fixed",
        "worst_over_oracle_fixed",
    ]
    write_csv(data / "regime-ratios.csv", [*header, "random_over_oracle_heldout", "worst_over_oracle_heldout"], rows)
    # (b), (c): per seed
    rows = []
    for task in (1, 2):
        for lr, updates in TEACHER_AXIS[task]:
            for seed in TUNING[task]:
                m = run_measures(out / f"teachers-task{task}" / name(lr, updates) / f"seed-{seed}", LAST[task])
                if m is not None:
                    rows.append(
                        [
                            task,
                            lr,
                            updates,
                            seed,
                            round(m["last"], 4),
                            m["to_0.9"] or "",
                            round(m["heldout"], 3),
                            round(statistics.median(m["seconds"]), 3),
                        ]
                    )
    header = ["task", "lr", "updates", "seed", "last_fraction", "episodes_to_0.9", "heldout_ppl_last", "s_per_episode"]
    write_csv(data / "regime-teachers.csv", header, rows)
    # the frontier table
    print(
        "| task | lr x updates | oracle ppl (paper) | random / oracle, per seed (fixed exam) | geo. mean (paper) |"
        " worst / oracle, geo. mean (paper) | teacher: last fraction per tuning seed | episodes to 0.9 | learns |"
        " s / episode |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    frontier = []
    for task in (1, 2):
        for lr, updates in RECIPES:
            a = ratios(out, task, lr, updates)
            if a is None:
                continue
            b = teacher_result(out, task, lr, updates) if (lr, updates) in TEACHER_AXIS[task] else None
            ro, wo = geomean(a["random/oracle perplexity"]), geomean(a["worst/oracle perplexity"])
            per = ", ".join(f"{x:.2f}" for x in a["random/oracle perplexity"])
            pr, pw = geomean(paper_ratio(task, "random")), geomean(paper_ratio(task, "worst"))
            t = (
                (
                    ", ".join(f"{x:.2f}" for x in b["last"]),
                    ", ".join(str(x or "-") for x in b["to_0.9"]),
                    "yes" if b["learns"] else "no",
                    f"{b['seconds_per_episode']:.2f}",
                )
                if b
                else ("not run", "-", "-", "-")
            )
            oracle = f"{min(a['oracle']):.3g}-{max(a['oracle']):.3g}"
            paper_oracle = f"{min(PAPER[task]['oracle']):.3g}-{max(PAPER[task]['oracle']):.3g}"
            print(
                f"| {task} | {lr} x {updates} | {oracle} ({paper_oracle}) | {per} | {ro:.2f} ({pr:.1f}) "
                f"| {wo:.3g} ({pw:.3g}) | {' | '.join(t)} |"
            )
            if b:
                success = statistics.fmean(x or EPISODES[1] + 1 for x in b["to_0.9"]) if task == 1 else None
                success = statistics.fmean(b["last"]) if task == 2 else success
                frontier.append((task, f"{lr}x{updates}", ro, pr, success, b["seconds_per_episode"]))
    for task in (1, 2):
        c = choose(out, task)
        if c is None:
            print(f"\nTask {task}: choice not made (results missing)")
        elif c["chosen"] is None:
            print(f"\nTask {task}: the teacher learns under no recipe of the axis")
        else:
            ch = c["chosen"]
            reach = "reaches the paper's regime" if c["reaches"] else "does NOT reach the paper's regime (factor 2)"
            print(
                f"\nTask {task}: chosen lr {ch['lr']} x {ch['updates']} updates: random/oracle {ch['ratio']:.2f} "
                f"against the paper's {c['paper']:.1f}; {reach}"
            )
    chosen_table(out, data)
    combination_table(out, data)
    if figure is not None and frontier:
        plot(frontier, figure)


def chosen_table(out: Path, data: Path) -> None:
    c = choose(out, 1)
    if c is None or c["chosen"] is None:
        return
    lr, updates = c["chosen"]["lr"], c["chosen"]["updates"]
    runs = {s: run_measures(out / "chosen-task1" / name(lr, updates) / f"seed-{s}", LAST[1]) for s in TEN_SEEDS}
    done = {s: m for s, m in runs.items() if m is not None}
    if not done:
        return
    write_csv(
        data / "regime-chosen-task1.csv",
        ["lr", "updates", "seed", "last5_fraction", "episodes_to_0.9", "heldout_ppl_last5"],
        [[lr, updates, s, round(m["last"], 4), m["to_0.9"] or "", round(m["heldout"], 3)] for s, m in done.items()],
    )
    lasts = [m["last"] for m in done.values()]
    print(
        f"\nchosen recipe, Task 1, {len(done)} seeds: last-5 V1 fraction {fmt_ci(lasts)}; "
        f"seeds >= 0.9: {sum(x >= 0.9 for x in lasts)}/{len(done)}; "
        f"episodes to 0.9 per seed: {', '.join(str(m['to_0.9'] or '-') for m in done.values())}"
        + (
            f" (mean {fmt_ci([float(m['to_0.9']) for m in done.values()])})"
            if all(m["to_0.9"] for m in done.values())
            else ""
        )
        + f"; held-out ppl, last 5: {fmt_ci([m['heldout'] for m in done.values()], '.3g')}"
    )


def combination_table(out: Path, data: Path) -> None:
    rows, lines = [], []
    for task in (1, 2):
        measured: dict[str, dict[int, dict]] = {}
        for setting in combination_settings(task):
            folder = out / f"combination-task{task}" / setting.replace(" ", "-")
            measured[setting] = {
                s: m
                for s in combination_seeds(setting)
                if (m := run_measures(folder / f"seed-{s}", COMBINATION_LAST[task])) is not None
            }
            for s, m in measured[setting].items():
                rows.append([task, setting, s, round(m["last"], 4), m["to_0.9"] or "", round(m["heldout"], 3)])
        ours = measured["ours"]
        for setting, runs in measured.items():
            if not runs:
                continue
            lasts = [m["last"] for m in runs.values()]
            held = [m["heldout"] for m in runs.values()]
            line = f"| {task} | {setting} | {len(runs)} | {fmt_ci(lasts)} | {fmt_ci(held, '.3g')} |"
            if setting != "ours":
                common = [s for s in runs if s in ours]
                df = [ours[s]["last"] - runs[s]["last"] for s in common]
                dh = [ours[s]["heldout"] - runs[s]["heldout"] for s in common]
                line += f" {fmt_ci(df) if len(df) > 1 else '-'} | {fmt_ci(dh, '.3g') if len(dh) > 1 else '-'} |"
            else:
                line += " - | - |"
            lines.append(line)
    if not rows:
        return
    write_csv(
        data / "regime-combination.csv",
        ["task", "setting", "seed", "last_fraction", "episodes_to_0.9", "heldout_ppl_last"],
        rows,
    )
    print(
        "\n| task | setting | seeds | last fraction | held-out ppl | ours minus it: fraction "
        "| ours minus it: held-out |"
    )
    print("|---|---|---|---|---|---|---|")
    print("\n".join(lines))


def plot(frontier: list[tuple], figure: Path) -> None:
    """Frontier: x = random / oracle ratio; y = the teacher's success (Task 1: episodes to 0.9, lower is
    better; Task 2: last-10 Structure 1 fraction); each point labelled with its recipe and seconds per episode."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, task in zip(axes, (1, 2), strict=True):
        pts = [f for f in frontier if f[0] == task]
        paper = geomean(paper_ratio(task, "random"))
        ax.axvline(paper, color="red", ls="--", label=f"paper's random / oracle ({paper:.1f})")
        ax.axvspan(paper / 2, paper * 2, color="red", alpha=0.08, label="within a factor 2 of the paper's")
        if task == 2:
            ax.axhline(0.30, color="grey", ls=":", label="'learns' threshold (0.30; pool 0.20)")
        for i, p in enumerate(pts):
            ax.scatter([p[2]], [p[4]], s=60, color="tab:blue")
            ax.annotate(
                f"{p[1]}\n{p[5]:.1f} s/episode",
                (p[2], p[4]),
                textcoords="offset points",
                xytext=(5, 6) if i % 2 else (5, -24),
                fontsize=7,
            )
        ax.set_xscale("log")
        ax.set_xlim(0.8, 100)
        ax.set_xlabel("random / oracle perplexity (geometric mean over five seeds, fixed exam)", fontsize=8)
        if task == 1:
            ax.set_ylabel("teacher: episodes to a 0.9 V1 fraction (mean of 3 seeds)", fontsize=8)
            ax.set_ylim(0, 11)
        else:
            ax.set_ylabel("teacher: Structure 1 fraction, last 10 of 30 episodes", fontsize=8)
            ax.set_ylim(0, 1)
        ax.set_title(f"Task {task}: student recipes (lr x updates)", fontsize=10)
        ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    figure.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(figure, dpi=120)
    print(f"written: {figure}", file=sys.stderr)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("stage", choices=("ratios", "teachers", "chosen", "combination", "report"))
    ap.add_argument("--out", type=Path, default=Path("runs/regime"))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--tasks", default="1,2", help="combination: which tasks")
    ap.add_argument("--data", type=Path, default=Path("docs/data"))
    ap.add_argument("--figure", type=Path, default=Path("docs/figures/regime-frontier.png"))
    args = ap.parse_args()
    if args.stage == "ratios":
        run_all(ratio_commands(args.out), args.jobs)
    elif args.stage == "teachers":
        run_all(teacher_commands(args.out), args.jobs)
    elif args.stage == "chosen":
        run_all(chosen_commands(args.out), args.jobs)
    elif args.stage == "combination":
        run_all(combination_commands(args.out, tuple(int(t) for t in args.tasks.split(","))), args.jobs)
    else:
        report(args.out, args.data, args.figure)


if __name__ == "__main__":
    main()
