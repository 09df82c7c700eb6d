"""Rounds cost little: an episode taught in 5 rounds vs 1 round, the same total updates per student.

Students persist between rounds (they are not rebuilt), so splitting a lesson into rounds adds
only the rounds' own work: a teacher call, a training job, and any exams. Three protocols, each
an `ilm run` (select-bin on Task 1, 12 students, 20 updates per student per episode):

  1 round        all-at-once: 10 sentences, 20 updates, the final exam
  5 rounds       send-in-batches, mid_terms=false: 5 x (2 sentences, 4 updates), the final exam only
  5 rounds+exams send-in-batches: as above with a mid-term exam and a teacher update after each

Every update sees `--batch` sentences (default 2, a round's batch), so the protocols do the same
training work and the ratio is the rounds' overhead; with `--batch 0` every update trains on the
whole of the lesson at hand (10 sentences in 1 round, 2 in each of 5), so 5 rounds cost less.
Repeats interleave the protocols so a shared machine's drift moves all alike; the ratio of a
repeat compares runs that saw the same machine. Reports the median per-repeat ratio of the
seconds spent in episodes (metrics.jsonl) against the 1-round episode.

    .venv/bin/python benchmarks/rounds.py                 # 3 repeats of 5 episodes each
    .venv/bin/python benchmarks/rounds.py --repeats 5 --episodes 10
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

PROTOCOLS = {
    "1 round": (["--interaction", "all-at-once"], 20),
    "5 rounds": (["--interaction", "send-in-batches", "--set", "interaction.mid_terms=false"], 4),
    "5 rounds+exams": (["--interaction", "send-in-batches"], 4),
}


def run_once(protocol: list[str], updates: int, episodes: int, batch: int, out: Path) -> float:
    """Seconds spent in the episodes of one `ilm run` (start-up and the teacher's LM excluded)."""
    cmd = [sys.executable, "-c", "from ilm_core.cli import main; main()", "run", *protocol]
    cmd += ["--teacher", "select-bin", "--env", "domains", "--students", "12", "--budget", "10"]
    cmd += ["--episodes", str(episodes), "--executor", "batched", "--set", "teacher.lm_updates=20"]
    cmd += ["--set", f"student.updates={updates}", "--set", f"student.batch_size={batch if batch else 'null'}"]
    subprocess.run([*cmd, "--quiet", "--out", str(out)], check=True, stdout=subprocess.DEVNULL)
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return sum(r["seconds"] for r in records)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--episodes", type=int, default=5)
    ap.add_argument("--batch", type=int, default=2, help="sentences per update; 0 = the whole lesson")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = ap.parse_args()
    console = Console()
    seconds: dict[str, list[float]] = {name: [] for name in PROTOCOLS}
    with tempfile.TemporaryDirectory(prefix="ilm-rounds-") as tmp:
        for r in range(args.repeats):
            for name, (protocol, updates) in PROTOCOLS.items():
                console.print(f"[dim]repeat {r + 1}/{args.repeats}: {name}[/]")
                out = Path(tmp) / f"{r}-{name.replace(' ', '_').replace('+', '_')}"
                seconds[name].append(run_once(protocol, updates, args.episodes, args.batch, out))
    base = seconds["1 round"]
    per_update = f"{args.batch} sentences" if args.batch else "the whole lesson"
    table = Table(
        title=f"{args.episodes} episodes x {args.repeats} interleaved repeats, 12 students, 20 updates of {per_update}"
    )
    for col in ("protocol", "episode s (median)", "vs 1 round (median ratio)"):
        table.add_column(col, justify="left" if col == "protocol" else "right")
    rows = []
    for name, values in seconds.items():
        ratio = statistics.median(v / b for v, b in zip(values, base, strict=True))
        per_episode = statistics.median(values) / args.episodes
        rows.append({"protocol": name, "episode_seconds": per_episode, "ratio": ratio, "repeats": values})
        table.add_row(name, f"{per_episode:.2f}", f"{ratio:.2f}x")
    console.print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"rounds-batch{args.batch}.json"
    path.write_text(
        json.dumps({"episodes": args.episodes, "batch": args.batch, "rows": rows}, indent=2) + "\n", encoding="utf-8"
    )
    console.print(f"wrote {path}")


if __name__ == "__main__":
    main()
