"""What summary.json says of a finished run: figures over its last episodes, its teacher's role
and the config's identity. Tools that read runs back (`ilm report`) use the same definitions."""

from __future__ import annotations

import hashlib
import json
import statistics
from collections.abc import Sequence
from typing import Any

from ilm_core.config import ExperimentConfig, config_identity
from ilm_core.lessons import generated_summary
from ilm_core.measures import CORE_FIELDS
from ilm_core.records import TeacherSpec

#: how many final episodes the summary's "_last" figures average
LAST = 10
#: what summary.json records of a run's teacher
ROLE_KEYS = ("teacher_role", "reference_rank", "privileged")


def last_mean(records: list[dict[str, Any]], key: str, n: int = LAST) -> float | None:
    """Mean of `key` over the last n records that have it (None when none does)."""
    values = [r[key] for r in records[-n:] if r.get(key) is not None]
    return statistics.fmean(values) if values else None


def teacher_role(spec: TeacherSpec) -> dict[str, Any]:
    """A teacher's role for summary.json: learner or reference, its rank as a reference, and
    whether it read the pool's exam-domain labels (a privileged reference)."""
    return {"teacher_role": spec.role, "reference_rank": spec.rank, "privileged": spec.privileged}


def summarise(records: list[dict[str, Any]], config: ExperimentConfig) -> dict[str, Any]:
    """Figures over the whole run and its last 10 episodes."""
    tail = records[-LAST:]
    return {
        "episodes": len(records),
        "seed": config.seed,
        "environment": config.environment.name,
        "teacher": config.teacher.name,
        "students": config.n_students,
        "seconds": round(sum(r["seconds"] for r in records), 3),
        "last_episodes": len(tail),
        "perplexity_last": last_mean(records, "perplexity_mean"),
        "heldout_perplexity_last": last_mean(records, "heldout_perplexity_mean"),
        "reward_last": last_mean(records, "reward_mean"),
        **scores_summary(records),
        **summary_of(records),
        "config_sha": hashlib.sha256(
            json.dumps(config_identity(config.model_dump(mode="json")), sort_keys=True).encode()
        ).hexdigest()[:12],
        **generated_summary(records),
    }


def scores_summary(records: Sequence[dict[str, Any]]) -> dict[str, float | None]:
    """summary.json's figures of the exam's scores beyond perplexity, named by what they are:
    `accuracy_last` (minimal-pair accuracy), `<score>_last` for the exam's other scores
    (`heldout_<score>_last`), and `teacher_reward_last`, the reward the teacher optimised, where the
    records have them (`perplexity_last` and the paper's `reward_last` are always there, None without
    perplexity)."""
    out: dict[str, float | None] = {}
    rows = list(records)
    if any(r.get("accuracy_mean") is not None for r in rows):
        out["accuracy_last"] = last_mean(rows, "accuracy_mean")
    names = {k.removesuffix("_mean"): None for r in rows for k in r.get("scores", {}) if k.endswith("_mean")}
    for name in names:
        out[f"{name}_last"] = last_mean([r.get("scores", {}) for r in rows], f"{name}_mean")
    if any(r.get("teacher_reward_mean") is not None for r in rows):
        out["teacher_reward_last"] = last_mean(rows, "teacher_reward_mean")
    return out


def summary_of(records: Sequence[dict[str, Any]]) -> dict[str, float | None]:
    """summary.json's figures of the measures: for each numeric episode-level value K, `K_last`
    (mean over the last 10 episodes) and `K_first` (the first episode's)."""
    keys = {k: None for r in records for k, v in r.items() if k not in CORE_FIELDS and _number(v)}
    out: dict[str, float | None] = {}
    for key in keys:
        out[f"{key}_last"] = last_mean(list(records), key)
        out[f"{key}_first"] = records[0].get(key)
    return out


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
