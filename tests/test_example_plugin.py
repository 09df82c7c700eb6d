"""The example distribution ilm-example-peritem, installed as a third party's would be
(CI: `pip install -e plugins/examples/ilm-example-peritem`)."""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path

import pytest

try:
    importlib.metadata.distribution("ilm-example-peritem")
except importlib.metadata.PackageNotFoundError:
    pytest.skip(
        "ilm-example-peritem is not installed; run `pip install -e plugins/examples/ilm-example-peritem`",
        allow_module_level=True,
    )

FAST = [
    "--set", "student.updates=3", "--set", "student.dim=16", "--set", "student.ffn=32",
    "--set", "environment.pool_size=30", "--set", "environment.teacher_corpus_size=10",
    "--set", "environment.exam_bank_size=20", "--set", "environment.heldout_size=5",
]  # fmt: skip


def test_per_item_run_exits_0(cli, tmp_path: Path):
    code, _, err = cli(
        "run",
        "--teacher",
        "per-item-bandit",
        "--interaction",
        "per-item",
        "--env",
        "domains",
        "--episodes",
        "3",
        "--students",
        "3",
        "--quiet",
        *FAST,
        "--out",
        str(tmp_path / "run"),
    )
    assert code == 0, err
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert len(records) == 3 and "entropy" not in records[-1]["teacher"]  # entropy has its own column
    assert records[-1]["entropy"] is not None


def test_roadmap_shows_the_example(cli):
    code, out, _ = cli("roadmap", "--json")
    assert code == 0
    cells = {c["id"]: c for c in json.loads(out)["cells"]}
    per_item = cells["interaction.student.per-item-score"]
    implementer = {"kind": "interaction", "name": "per-item", "distribution": "ilm-example-peritem"}
    assert implementer in per_item["implemented_by"]
    added = cells["teacher.awareness.per-item-credit"]
    assert "ilm-example-peritem" in added["contributed_by"]
    assert added["implemented_by"] == [
        {"kind": "teacher", "name": "per-item-bandit", "distribution": "ilm-example-peritem"}
    ]
