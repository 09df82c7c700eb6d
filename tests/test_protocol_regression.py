"""The paper's protocol (`all-at-once`) writes the same metrics.jsonl records as before the round protocol.

The records under tests/data/regression/ were written by the one-round loop that preceded rounds,
persistent students and round plans; every record must match them in everything but `seconds`
(floats within a stated tolerance: their last digits depend on the CPU).
Regenerate them only for a change that is meant to alter the paper's protocol:
`python tests/test_protocol_regression.py --write`.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import pytest

from ilm_core.config import resolve
from ilm_core.loop import Experiment
from ilm_core.registry import default_registry
from ilm_core.rundir import RunDir

DATA = Path(__file__).parent / "data" / "regression"

_SMALL_STUDENT = {"name": "transformer-lm", "params": {"updates": 4, "dim": 16, "ffn": 32}}

CASES: dict[str, dict[str, Any]] = {
    "domains-select-bin": {
        "episodes": 3,
        "n_students": 4,
        "budget": 4,
        "student": _SMALL_STUDENT,
        "teacher": {"name": "select-bin", "params": {"lm_updates": 5, "lm_dim": 16}},
        "environment": {
            "name": "domains",
            "params": {"pool_size": 20, "teacher_corpus_size": 10, "exam_bank_size": 20, "heldout_size": 5},
        },
    },
    "structures-select-bin": {
        "episodes": 3,
        "n_students": 3,
        "budget": 4,
        "student": _SMALL_STUDENT,
        "teacher": {"name": "select-bin", "params": {"lm_updates": 5, "lm_dim": 16}},
        "environment": {
            "name": "structures",
            "params": {"pool_size": 20, "teacher_corpus_size": 10, "exam_bank_size": 20, "heldout_size": 5},
        },
    },
    "structures-value-bandit": {
        "episodes": 3,
        "n_students": 3,
        "budget": 4,
        "student": _SMALL_STUDENT,
        "teacher": {"name": "value-bandit"},
        "environment": {
            "name": "structures",
            "params": {"pool_size": 20, "teacher_corpus_size": 10, "exam_bank_size": 20, "heldout_size": 5},
        },
    },
}


def run_records(raw: dict[str, Any], out: Path) -> list[dict[str, Any]]:
    registry = default_registry()
    Experiment(resolve(raw, registry), registry, RunDir(out)).run()
    lines = (out / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k != "seconds"} for line in lines]


#: floats may differ in their last digits between CPUs (vector widths change the order of sums);
#: (a policy loss, a difference of near-equal terms, by 5e-5); a change to the protocol moves them
#: by far more (a different lesson changes a perplexity by whole percents)
REL_TOL, ABS_TOL = 1e-5, 1e-4


def differences(new: Any, old: Any, where: str = "") -> list[str]:
    """Where two records differ: keys, lengths and non-float values exactly, floats within the tolerances."""
    if isinstance(old, dict) and isinstance(new, dict):
        if set(new) != set(old):
            return [f"{where}: keys {sorted(set(new) ^ set(old))} differ"]
        return [d for k in sorted(old) for d in differences(new[k], old[k], f"{where}.{k}")]
    if isinstance(old, list) and isinstance(new, list):
        if len(new) != len(old):
            return [f"{where}: {len(new)} values, expected {len(old)}"]
        return [d for i, (a, b) in enumerate(zip(new, old, strict=True)) for d in differences(a, b, f"{where}[{i}]")]
    if isinstance(old, float) and isinstance(new, float | int) and not isinstance(new, bool):
        return [] if math.isclose(new, old, rel_tol=REL_TOL, abs_tol=ABS_TOL) else [f"{where}: {new} != {old}"]
    return [] if new == old and type(new) is type(old) else [f"{where}: {new!r} != {old!r}"]


def test_differences_sees_a_changed_lesson_and_ignores_last_digits() -> None:
    old = {"perplexity_mean": 21.503253066185163, "per_student": {"fraction_exam_domain": [0.25, 0.5]}}
    assert differences({**old, "perplexity_mean": 21.503252667217236}, old) == []
    assert differences({**old, "perplexity_mean": 21.6}, old)
    assert differences({**old, "per_student": {"fraction_exam_domain": [0.5, 0.5]}}, old)
    assert differences({**old, "extra": 1}, old)


#: keys added to the records after the data above was written, none changing another: the reward the
#: teacher optimised (plugin API 3, CHANGELOG.md), checked against the perplexities it comes from
ADDED = ("teacher_reward_mean", "teacher_reward_std")


def teacher_reward_differences(record: dict[str, Any]) -> list[str]:
    """The added keys hold the mean and spread of minus the log of each student's perplexity (the
    reward of select-bin and value-bandit on a perplexity exam)."""
    rewards = [-math.log(p) for p in record["per_student"]["perplexity"]]
    mean = sum(rewards) / len(rewards)
    std = math.sqrt(sum((r - mean) ** 2 for r in rewards) / len(rewards))
    return differences([record.get(k) for k in ADDED], [mean, std], "teacher reward")


@pytest.mark.parametrize("case", sorted(CASES))
def test_all_at_once_records_unchanged(case: str, tmp_path: Path) -> None:
    expected = [json.loads(line) for line in (DATA / f"{case}.jsonl").read_text().splitlines()]
    got = run_records(CASES[case], tmp_path / "run")
    assert len(got) == len(expected) == CASES[case]["episodes"]
    for new, old in zip(got, expected, strict=True):
        assert teacher_reward_differences(new) == []
        kept = {k: v for k, v in new.items() if k not in ADDED}
        assert differences(kept, {k: v for k, v in old.items() if k != "seconds"}) == []


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    import tempfile

    for name, raw in CASES.items():
        with tempfile.TemporaryDirectory() as tmp:
            records = [{k: v for k, v in r.items() if k not in ADDED} for r in run_records(raw, Path(tmp) / "run")]
        (DATA / f"{name}.jsonl").write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in records))
        print(f"wrote {name}: {len(records)} records")
