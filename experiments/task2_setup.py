"""What the Task 2 study scripts share: their common arguments and the environment, student and exam they build."""

from __future__ import annotations

import argparse
from typing import Any

from ilm_core import EnvironmentData, build_environment, default_registry, resolve


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--seed", type=int, default=7519)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--updates", type=int, default=20)
    ap.add_argument("--reading", default="alternation", choices=["alternation", "no-repeat"])


def build(args: argparse.Namespace) -> tuple[EnvironmentData, Any, Any]:
    """The seed's Task 2 data, the native student with the recipe asked for, the perplexity exam."""
    reg = default_registry()
    cfg = resolve({"seed": args.seed, "environment": {"name": "structures", "params": {"reading": args.reading}}}, reg)
    data = build_environment(cfg, reg)
    student = reg.build("student", "transformer-lm", {"updates": args.updates, "lr": args.lr})
    exam = reg.build("exam", "perplexity", {"feedback": "fixed"})
    return data, student, exam
