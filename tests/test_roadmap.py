"""The road map: Table 1 as data, merged with plugin cells, joined with the installed plugins."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ilm_core import RoadmapCell, TeacherSpec, hookimpl
from ilm_core.errors import ConfigError
from ilm_core.registry import Registry
from ilm_core.roadmap import build_roadmap, load_cells, roadmap_file

# the starred steps of Table 1, in the paper's words (a handful of them, one per component)
STARRED = {
    "teacher.speaking.select-from-bin": "Select data from bin",
    "student.speaking.standard-lm": "Generate language data in a standard LM fashion",
    "interaction.teacher.send-all-at-once": "Send all data at once",
    "interaction.student.single-average-score": "Send a single average exam score back to the teacher",
    "environment.language.artificial.random": "random language",
    "environment.language.artificial.structures": "different types of structures",
    "evaluation.teacher.protocol-accuracy": "Accuracy in selecting the optimal teaching protocol",
    "evaluation.student.perplexity": "General performance, measured in perplexity",
}
#: cells the issue asks for beyond Table 1, and the cell each refines
EXTRA = {
    "evaluation.student.heldout-final-exam": "evaluation.student.perplexity",
    "interaction.teacher.fresh-exams": "interaction.teacher.mid-term-exams",
    "student.training.several-at-once": "student.speaking.standard-lm",
}
UNIMPLEMENTED = "environment.language.unrestricted"


class InlineTeacher:
    """A plugin defined in the test, registered in-process like a third party's would be."""

    __name__ = "inline-teacher-plugin"

    @staticmethod
    @hookimpl
    def ilm_teachers() -> Iterator[TeacherSpec]:
        yield TeacherSpec(
            name="inline-generator",
            summary="test teacher",
            factory="builtins:object",
            roadmap=(UNIMPLEMENTED, "teacher.speaking.no-such-step"),
        )

    @staticmethod
    @hookimpl
    def ilm_roadmap_cells() -> Iterator[RoadmapCell]:
        yield RoadmapCell(
            id="teacher.speaking.inline-step",
            component="teacher",
            group="ways of speaking",
            text="A step only this test knows",
            parent="teacher.speaking.generate",
        )
        yield RoadmapCell(id="teacher.speaking.select-from-bin", component="teacher", group="x", text="dup")


def roadmap_json(cli) -> dict:
    code, out, _ = cli("roadmap", "--json")
    assert code == 0
    return json.loads(out)


def test_table_loads_and_validates():
    cells = load_cells()
    ids = [c.id for c in cells]
    assert len(ids) == len(set(ids)) >= 30
    assert {c.component for c in cells} == {"teacher", "student", "interaction", "environment", "task", "evaluation"}
    assert all(c.parent is None or c.parent in ids for c in cells)
    assert all(c.contributed_by is None for c in cells)
    assert roadmap_file().name == "table1.yaml"


def test_starred_cells_of_table_1_are_present():
    cells = {c.id: c for c in load_cells()}
    for cell_id, text in STARRED.items():
        assert cells[cell_id].paper, cell_id
        assert text.lower() in cells[cell_id].text.lower(), cell_id
    starred = {c.id for c in cells.values() if c.paper}
    assert {
        "teacher.awareness.no-memory-buffer",
        "teacher.awareness.no-student-model",
        "task.teacher.select-optimal-data",
        "evaluation.student.average-score",
    } <= starred
    assert not cells["teacher.awareness.memory-buffer"].paper
    assert "score per item on the exam set" in cells["interaction.student.fine-grained-score"].items
    assert cells["interaction.student.per-item-score"].parent == "interaction.student.fine-grained-score"


def test_extra_cells_extend_table_1():
    cells = {c.id: c for c in load_cells()}
    for cell_id, parent in EXTRA.items():
        assert cells[cell_id].parent == parent and not cells[cell_id].paper


def test_reference_plugins_name_only_existing_cells(registry):
    roadmap = build_roadmap(registry)
    assert [w for w in roadmap.warnings if "(from ilm)" in w] == []
    assert roadmap.get("teacher.speaking.select-from-bin").implemented


def test_json_marks_exactly_what_plugins_implement(cli, monkeypatch):
    registry = Registry()
    registry.load_entry_points()
    monkeypatch.setattr("ilm_core.cli.roadmap_cmd.default_registry", lambda: registry)
    known = {c.id for c in load_cells()} | {c.id for c in registry.roadmap_cells()}
    named = {cell_id for spec in registry.all_specs() for cell_id in spec.roadmap} & known

    data = roadmap_json(cli)
    assert {c["id"] for c in data["cells"] if c["implemented"]} == named
    assert UNIMPLEMENTED not in named

    registry.register(InlineTeacher, name="inline-teacher-plugin")
    data = roadmap_json(cli)
    cell = next(c for c in data["cells"] if c["id"] == UNIMPLEMENTED)
    assert cell["implemented"]
    assert cell["implemented_by"] == [{"kind": "teacher", "name": "inline-generator", "distribution": "<in-process>"}]
    added = next(c for c in data["cells"] if c["id"] == "teacher.speaking.inline-step")
    assert "inline-teacher-plugin" in added["contributed_by"] and not added["implemented"]

    missing = json.loads(cli("roadmap", "--missing", "--json")[1])
    assert UNIMPLEMENTED not in {c["id"] for c in missing["cells"]}
    assert all(not c["implemented"] for c in missing["cells"])

    registry.unregister(InlineTeacher)
    data = roadmap_json(cli)
    assert not next(c for c in data["cells"] if c["id"] == UNIMPLEMENTED)["implemented"]
    assert "teacher.speaking.inline-step" not in {c["id"] for c in data["cells"]}


def test_plugin_problems_are_warnings_naming_the_plugin(cli, monkeypatch):
    registry = Registry()
    registry.register(InlineTeacher, name="inline-teacher-plugin")
    roadmap = build_roadmap(registry)
    unknown = [w for w in roadmap.warnings if "teacher.speaking.no-such-step" in w]
    assert len(unknown) == 1 and "inline-generator" in unknown[0]
    dup = [w for w in roadmap.warnings if "'teacher.speaking.select-from-bin'" in w]
    assert len(dup) == 1 and "inline-teacher-plugin" in dup[0]
    assert roadmap.get("teacher.speaking.select-from-bin").cell.text == "Select data from bin"  # Table 1 wins

    monkeypatch.setattr("ilm_core.cli.roadmap_cmd.default_registry", lambda: registry)
    code, out, err = cli("roadmap")
    assert code == 0 and "teacher.speaking.no-such-step" in err and "not implemented" in out
    assert "A step only this test knows" in out


def test_table_errors_are_config_errors(tmp_path: Path):
    bad = tmp_path / "t.yaml"
    bad.write_text("cells:\n  - {id: a.b, component: teacher, group: g, text: t, parent: a.c}\n")
    with pytest.raises(ConfigError, match=r"parent 'a\.c'"):
        load_cells(bad)
    bad.write_text(
        "cells:\n  - {id: a.b, component: teacher, group: g, text: t}\n"
        "  - {id: a.b, component: student, group: g, text: t}\n"
    )
    with pytest.raises(ConfigError, match="twice"):
        load_cells(bad)
    bad.write_text("cells:\n  - {id: a.b, component: teachers, group: g, text: t}\n")
    with pytest.raises(ConfigError, match="component"):
        load_cells(bad)


def test_ilm_roadmap_overrides_the_shipped_table(tmp_path: Path, monkeypatch):
    (tmp_path / "table1.yaml").write_text("cells:\n  - {id: a.b, component: teacher, group: g, text: t}\n")
    monkeypatch.setenv("ILM_ROADMAP", str(tmp_path))
    assert [c.id for c in load_cells()] == ["a.b"]
    monkeypatch.setenv("ILM_ROADMAP", str(tmp_path / "missing.yaml"))
    with pytest.raises(ConfigError, match="ILM_ROADMAP"):
        roadmap_file()


@pytest.mark.slow
def test_a_wheel_carries_the_table(tmp_path: Path):
    """A wheel install has no source tree: the table must travel inside the `ilm_core` package."""
    import shutil
    import subprocess
    import sys
    import zipfile

    root, source = Path(__file__).resolve().parents[1], tmp_path / "source"  # build a copy: no build/ in the tree
    skip = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for folder in ("ilm_core", "plugins/ilm_plugins"):
        shutil.copytree(root / folder, source / folder, ignore=skip)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(root / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), source],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("ilm-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        assert archive.read("ilm_core/data/table1.yaml") == roadmap_file().read_bytes()
