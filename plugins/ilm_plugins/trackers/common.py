"""What every tracker sends: an episode's scalars and the config as flat params."""

from __future__ import annotations

import json
import math
from typing import Any

from ilm_core import EpisodeRecord, config_identity

#: record field -> tracker tag; tags sharing a prefix are one group in TensorBoard and MLflow
TAGS = {
    "reward_mean": "reward/mean",
    "reward_std": "reward/std",
    "perplexity_mean": "perplexity/feedback",
    "perplexity_std": "perplexity/feedback_std",
    "heldout_perplexity_mean": "perplexity/heldout",
    "heldout_perplexity_std": "perplexity/heldout_std",
    "teacher_reward_mean": "reward/teacher",
    "teacher_reward_std": "reward/teacher_std",
    "accuracy_mean": "accuracy/feedback",
    "accuracy_std": "accuracy/feedback_std",
    "entropy": "teacher/entropy",
    "seconds": "seconds",
    "tokens_sent": "tokens_sent",
    "diverged_students": "diverged_students",
}


def scalars(record: EpisodeRecord) -> dict[str, float]:
    """The episode's finite scalars by tag: rewards, both exams' perplexities, teacher entropy and
    stats, seconds, and the run's measures (a measure's values by name under its own tag:
    `fraction_exam_domain`, `overlap/bigram`)."""
    values: dict[str, Any] = {tag: getattr(record, field) for field, tag in TAGS.items()}
    for name, value in record.measures.items():
        if isinstance(value, dict):
            values.update({f"{name}/{part}": v for part, v in value.items()})
        else:
            values[name] = value
    values.update({f"score/{k}": v for k, v in record.scores.items()})  # an exam's other scores, by name
    values.update({f"teacher/{k}": v for k, v in record.teacher.items()})
    return {tag: float(v) for tag, v in values.items() if isinstance(v, int | float) and math.isfinite(v)}


def earlier_records(run: Any, after: int = -1) -> list[EpisodeRecord]:
    """The records of metrics.jsonl before the episode a (resumed) run starts at, after `after`."""
    if not run.first_episode:
        return []
    records = run.run_dir.read_metrics()[: run.first_episode]
    return [EpisodeRecord.from_json(r) for r in records if r["episode"] > after]


def flat_params(config: dict[str, Any]) -> dict[str, str | int | float | bool]:
    """The resolved config (without what only watches the run) as dotted keys: teacher.params.lr."""
    out: dict[str, str | int | float | bool] = {}

    def walk(node: dict[str, Any], prefix: str) -> None:
        for key, value in node.items():
            if isinstance(value, dict) and value:
                walk(value, f"{prefix}{key}.")
            elif isinstance(value, str | int | float | bool):
                out[f"{prefix}{key}"] = value
            else:  # None, lists, empty tables: their JSON text
                out[f"{prefix}{key}"] = json.dumps(value)

    walk(config_identity(config), "")
    return out
