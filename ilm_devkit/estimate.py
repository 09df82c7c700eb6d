"""What a run will cost, from recorded `ilm bench` figures (printed by `ilm run --dry-run`,
which asks for it through the hook `ilm_dry_run`).

Self-contained: it reads a run's config and a table of figures, and imports nothing else of
ilm. A figure is one `ilm bench` row: student-updates per second of one device and memory per
student, for a (student, size, device kind) triple, with the command and machine it came from.
`FIGURES` holds the figures recorded in benchmarks/README.md; `ilm run --dry-run --bench FILE`
adds the rows of an `ilm bench --json FILE` measured on the machine that will run (later rows win).

The estimate counts the students' training only (episodes x students x updates), spread
evenly over the executor's devices, each device as fast as the figure says: the teacher's
set-up (pretraining its LM) and its policy updates are not in it, and neither is how well
several workers share one machine.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

#: student params that decide a student's size; "paper" = fairseq's transformer_lm (6 x 512)
PAPER_SIZE = {"layers": 6, "dim": 512}


class Figure(BaseModel):
    """One recorded cost: `updates_per_second` (of one device, N students together) and memory per student."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    student: str
    size: Literal["cpu", "paper"]
    device: Literal["cpu", "cuda"]
    updates_per_second: float | None = None
    mb_per_student: float | None = None
    gflop_per_update: float | None = None  # computed work of one student-update (None: not computed)
    source: str = ""


#: figures recorded in benchmarks/README.md (2-core CPU, torch 2.13 CPU build); no GPU figure is
#: recorded: the one cuda row is a memory computation, its time is not measured.
FIGURES: tuple[Figure, ...] = (
    Figure(
        student="transformer-lm",
        size="cpu",
        device="cpu",
        updates_per_second=801.0,
        mb_per_student=4.65,
        source="`ilm bench --students 12 --repeats 5`, batched, 2-core CPU (benchmarks/README.md)",
    ),
    Figure(
        student="transformer-lm",
        size="paper",
        device="cpu",
        updates_per_second=4.4,
        mb_per_student=106.0,
        source="`ilm bench --size paper --students 4 --updates 3 --repeats 2`, sequential, 2-core CPU "
        "(benchmarks/README.md)",
    ),
    Figure(
        student="fairseq-lm",
        size="paper",
        device="cpu",
        updates_per_second=4.1,
        mb_per_student=98.0,
        source="`ilm bench --size paper --students 4 --updates 3 --repeats 2`, sequential, 2-core CPU "
        "(benchmarks/README.md)",
    ),
    Figure(
        student="fairseq-lm",
        size="paper",
        device="cuda",
        mb_per_student=309 * 1.048576,  # 309 MiB
        gflop_per_update=12.5,  # 6 x 18.9M parameters x 110 tokens (a Task 1 lesson; Task 2's are shorter)
        source="computed, not measured: memory = fp32 weights, gradients, Adam moments and one update's "
        "activations, compute = 6 x parameters x 110 tokens, a Task 1 lesson (`python experiments/student_memory.py`, "
        "docs/scaling.md); no time figure: measure one with "
        "`ilm bench --device cuda --size paper --student fairseq-lm --json F` and pass `--bench F`",
    ),
)


def load_figures(path: Path | None) -> list[Figure]:
    """The recorded figures, then the rows of an `ilm bench --json` file (which win on the same triple)."""
    figures = list(FIGURES)
    if path is None:
        return figures
    for row in json.loads(Path(path).read_text(encoding="utf-8")):
        device: Literal["cpu", "cuda"] = "cuda" if str(row.get("device", "cpu")).startswith("cuda") else "cpu"
        figures.append(
            Figure(
                student=row["student"],
                size=row["size"],
                device=device,
                updates_per_second=row.get("updates_per_second"),
                mb_per_student=row.get("memory_mb_per_student"),
                source=f"{path}: {row.get('executor', '?')}, {row.get('students', '?')} students",
            )
        )
    return figures


def student_size(student: dict[str, Any]) -> str | None:
    """'paper' for fairseq's transformer_lm size (or fairseq-lm's paper preset), 'cpu' for the
    native student's defaults, None for any other size (no figure applies)."""
    params = student.get("params", {})
    if params.get("preset") == "paper" or all(params.get(k) == v for k, v in PAPER_SIZE.items()):
        return "paper"
    if (
        student.get("name") == "transformer-lm"
        and params.get("layers") in (None, 2)
        and params.get("dim") in (None, 64)
    ):
        return "cpu"
    return None


def find(figures: list[Figure], student: str, size: str, device: str) -> Figure | None:
    matches = [f for f in figures if (f.student, f.size, f.device) == (student, size, device)]
    return matches[-1] if matches else None


def gpu_devices(config: dict[str, Any]) -> int:
    """How many GPUs the run's executor spreads students over (multiprocess `devices`; else the config's device)."""
    params = config.get("executor", {}).get("params", {})
    devices = params.get("devices")
    if isinstance(devices, str):
        devices = devices.split(",")
    if devices:
        return sum(1 for d in devices if str(d).startswith("cuda"))
    return 1 if str(config.get("device", "cpu")).startswith("cuda") else 0


def human(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def one_line(config: dict[str, Any], figure: Figure | None, devices: int, where: str) -> str:
    """The estimate on `devices` devices of the figure's kind (students split evenly over them)."""
    student = config["student"]
    if figure is None:
        return f"{where}: no `ilm bench` figure for {student['name']} at this size on this device kind"
    n, episodes = config["n_students"], config["episodes"]
    updates = student.get("params", {}).get("updates")
    per_device = math.ceil(n / max(devices, 1))
    parts = []
    if figure.updates_per_second and updates:
        seconds = episodes * per_device * updates / figure.updates_per_second
        parts.append(
            f"time {human(seconds)} ({episodes} episodes x {per_device} students x {updates} updates "
            f"at {figure.updates_per_second:g} student-updates/s per device)"
        )
    else:
        parts.append("time not measured")
        if figure.gflop_per_update and updates:
            pflop = episodes * per_device * updates * figure.gflop_per_update / 1e6
            parts.append(f"compute {pflop:.2g} PFLOP per device ({figure.gflop_per_update:g} GFLOP a student-update)")
    if figure.mb_per_student is not None:
        gb = per_device * figure.mb_per_student / 1000
        extra = " + one CUDA context" if figure.device == "cuda" else ""
        parts.append(f"memory {gb:.2f} GB per device ({per_device} students x {figure.mb_per_student:.0f} MB{extra})")
    return f"{where}: " + "; ".join(parts) + f"  [{figure.source}]"


def estimate_lines(config: dict[str, Any], figures: list[Figure] | None = None) -> list[str]:
    """Estimated time and memory on one CPU, on one GPU and on the run's own GPUs (when more than one)."""
    figures = list(FIGURES) if figures is None else figures
    student = config["student"]
    size = student_size(student)
    lines = ["estimate (students' training only, from `ilm bench` figures):"]
    if size is None:
        return [*lines, f"  no `ilm bench` figure for {student['name']} at this size; run `ilm bench` with it"]
    cpu, cuda = find(figures, student["name"], size, "cpu"), find(figures, student["name"], size, "cuda")
    lines.append("  " + one_line(config, cpu, 1, "one CPU"))
    lines.append("  " + one_line(config, cuda, 1, "one GPU"))
    gpus = gpu_devices(config)
    if gpus > 1:
        lines.append("  " + one_line(config, cuda, gpus, f"{gpus} GPUs (this config's executor)"))
    return lines
