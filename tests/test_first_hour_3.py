"""Issue "the first hour, round 3": a newcomer's, a plugin author's and a hostile user's first hour."""

from __future__ import annotations

import json
import sys

from conftest import TINY


def test_a_run_directory_records_where_it_came_from_and_inspect_shows_it(cli, tmp_path):
    out = tmp_path / "run"
    code, _, err = cli("run", *TINY, "--out", str(out))
    assert code == 0, err
    document = json.loads((out / "provenance.json").read_text())
    import torch

    from ilm_core import __version__

    assert document["ilm"] == __version__ and document["torch"] == torch.__version__
    assert document["python"] == ".".join(map(str, sys.version_info[:3]))
    assert document["host"] and document["command"] and document["threads"]["threads"] >= 1
    assert document["git"] is None or len(document["git"]["commit"]) == 40
    code, stdout, err = cli("inspect", str(out), "--top", "2")
    assert code == 0, err
    text = " ".join(stdout.split())
    assert "provenance.json" in text and document["host"] in text and f"torch {torch.__version__}" in text
