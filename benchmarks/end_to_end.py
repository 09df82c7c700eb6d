"""End to end: the same `ilm run` with each executor, in interleaved rounds, from one command.

Each round runs `ilm run --teacher select-bin --env domains --quiet` (the CPU defaults: 12
students, 40 episodes) once per executor, in a fresh process, so start-up (imports, the
teacher's LM pretraining) counts as a researcher would see it. Rounds interleave the executors
so that a shared machine's drift moves all of them alike; the ratio of a round compares runs
that saw the same machine. Reports wall seconds, seconds spent in episodes (from
metrics.jsonl), the last-10 V1 fraction, and the median per-round ratio against `sequential`.

    .venv/bin/python benchmarks/end_to_end.py                      # 3 rounds, about 3 minutes
    .venv/bin/python benchmarks/end_to_end.py --rounds 1 --executors sequential,batched
    .venv/bin/python benchmarks/end_to_end.py --extra "--episodes 10"

Writes end_to_end.json to --out (default benchmarks/results).
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table


def run_once(executor: str, extra: list[str], workdir: Path) -> dict[str, float]:
    out = workdir / f"{executor.replace(' ', '_')}-{time.monotonic_ns()}"
    cmd = [sys.executable, "-c", "from ilm_core.cli import main; main()", "run", "--teacher", "select-bin"]
    cmd += ["--env", "domains"]
    cmd += ["--executor", *shlex.split(executor), "--quiet", "--out", str(out), *extra]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    last = records[-10:]
    return {
        "wall": wall,
        "episodes": sum(r["seconds"] for r in records),
        "fraction_last10": sum(r["fraction_exam_domain"] for r in last) / len(last),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--executors", default="sequential,batched", help="comma-separated; 'batched --set executor.lanes=1' works"
    )
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--extra", default="", help="more `ilm run` arguments, e.g. '--episodes 10 --seed 7519'")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = ap.parse_args()
    executors = [e.strip() for e in args.executors.split(",") if e.strip()]
    extra = shlex.split(args.extra)
    console = Console()
    runs: dict[str, list[dict[str, float]]] = {e: [] for e in executors}
    with tempfile.TemporaryDirectory(prefix="ilm-e2e-") as tmp:
        for r in range(args.rounds):
            for e in executors:
                console.print(f"[dim]round {r + 1}/{args.rounds}: {e}[/]")
                runs[e].append(run_once(e, extra, Path(tmp)))
    base = runs.get("sequential")
    title = f"ilm run end to end, {args.rounds} interleaved rounds (median; vs seq = median per-round ratio)"
    table = Table(title=title)
    for col in ("executor", "wall s", "episodes s", "V1 fraction (last 10)", "wall vs seq", "episodes vs seq"):
        table.add_column(col, justify="left" if col == "executor" else "right")
    rows = []
    for e, results in runs.items():
        row = {
            "executor": e,
            "wall": statistics.median(x["wall"] for x in results),
            "episodes": statistics.median(x["episodes"] for x in results),
            "fraction_last10": statistics.median(x["fraction_last10"] for x in results),
            "rounds": results,
        }
        if base is not None:
            row["wall_ratio"] = statistics.median(b["wall"] / x["wall"] for b, x in zip(base, results, strict=True))
            row["episodes_ratio"] = statistics.median(
                b["episodes"] / x["episodes"] for b, x in zip(base, results, strict=True)
            )
        rows.append(row)
        table.add_row(
            e,
            f"{row['wall']:.1f}",
            f"{row['episodes']:.1f}",
            f"{row['fraction_last10']:.2f}",
            f"{row['wall_ratio']:.2f}x" if "wall_ratio" in row else "-",
            f"{row['episodes_ratio']:.2f}x" if "episodes_ratio" in row else "-",
        )
    console.print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "end_to_end.json"
    path.write_text(json.dumps({"extra": args.extra, "rows": rows}, indent=2) + "\n", encoding="utf-8")
    console.print(f"wrote {path}")


if __name__ == "__main__":
    main()
