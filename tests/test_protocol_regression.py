"""The paper's protocol (`all-at-once`) writes the same metrics.jsonl records as before the round protocol.

The records under tests/data/regression/ were written by the one-round loop that preceded rounds,
persistent students and round plans; every record must match them in everything but `seconds`.
Regenerate them only for a change that is meant to alter the paper's protocol:
`python tests/test_protocol_regression.py --write`.
"""

from __future__ import annotations

import json
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


@pytest.mark.parametrize("case", sorted(CASES))
def test_all_at_once_records_unchanged(case: str, tmp_path: Path) -> None:
    expected = [json.loads(line) for line in (DATA / f"{case}.jsonl").read_text().splitlines()]
    got = run_records(CASES[case], tmp_path / "run")
    assert len(got) == len(expected) == CASES[case]["episodes"]
    for new, old in zip(got, expected, strict=True):
        assert json.dumps(new, sort_keys=True) == json.dumps(
            {k: v for k, v in old.items() if k != "seconds"}, sort_keys=True
        )


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    import tempfile

    for name, raw in CASES.items():
        with tempfile.TemporaryDirectory() as tmp:
            records = run_records(raw, Path(tmp) / "run")
        (DATA / f"{name}.jsonl").write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in records))
        print(f"wrote {name}: {len(records)} records")
