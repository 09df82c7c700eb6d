"""The road map: Table 1 as printed, the steps beyond it, the studies, and each cell's status from
evidence (implemented, partial, missing), joined with the installed plugins."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from ilm_core import RoadmapCell, TeacherSpec, hookimpl
from ilm_core.errors import ConfigError
from ilm_core.registry import Registry
from ilm_roadmap.status import (
    FailedClaim,
    Implementer,
    Study,
    build_roadmap,
    judge,
    load_aliases,
    load_beyond,
    load_cells,
    load_studies,
    roadmap_file,
)

ROOT = Path(__file__).resolve().parents[1]

# Hand count of the paper's Table 1 (roadmap/README.md has the walk-through). Every bullet and
# every sub-item (dash) is one entry; an entry with sub-items counts through them.
#   bullets 25: teacher 4, student 5, interaction 6, environment 3, task 3, evaluation 4
#   sub-items 15: fine-grained score 2, artificial languages 3, subset of human language 3,
#                 adapt to students 2, specific tasks 3, "scores either as an average or more
#                 fine-grained" 2
#   leaves 34 = 25 bullets - 6 with sub-items + 15 sub-items: the steps, counted in "N of M"
#   "(No*) X" (memory buffer, student model): the step X is a leaf above; the starred "no X" is
#   the paper's condition, shown, never counted. Printed leaves with both halves: 34 + 2 = 36.
#   stars: 10 steps + the 2 "(No*)" conditions = the 12 marks the table prints.
BULLETS, SUB_ITEMS, STEPS, CONDITIONS = 25, 15, 34, 2
STARRED_STEPS = {
    "teacher.speaking.select-from-bin": "Select data from bin",
    "student.speaking.standard-lm": "Generate language data in a standard LM fashion",
    "interaction.teacher.send-all-at-once": "Send all data at once",
    "interaction.student.single-average-score": "Send a single average exam score back to the teacher",
    "environment.language.artificial.random": "random language",
    "environment.language.artificial.structures": "different types of structures",
    "task.teacher.select-optimal-data": "Learn to select or generate the optimal data",
    "evaluation.teacher.protocol-accuracy": "Accuracy in selecting the optimal teaching protocol",
    "evaluation.student.perplexity": "General performance, measured in perplexity",
    "evaluation.student.average-score": "as an average",
}
#: the status of every Table 1 step with the reference plugins alone (ilm's own distribution)
EXPECTED = {
    "implemented": {
        "teacher.speaking.select-from-bin",
        "teacher.speaking.generate",
        "student.speaking.standard-lm",
        "student.data.use-all",
        "student.speaking.experiment",
        "student.data.select-useful",
        "interaction.student.ask-for-feedback",
        "task.student.adapt-to-teachers",
        "interaction.teacher.send-all-at-once",
        "interaction.student.single-average-score",
        "environment.language.artificial.random",
        "environment.language.artificial.structures",
        "environment.language.artificial.vocabulary-sizes",
        "environment.language.human-subset.semantics",
        "task.teacher.select-optimal-data",
        "evaluation.teacher.protocol-accuracy",
        "evaluation.student.perplexity",
        "evaluation.student.specific-tasks.known-subset",
        "teacher.awareness.memory-buffer",
        "interaction.teacher.mid-term-exams",
        "interaction.teacher.send-in-batches",
    },
    "partial": {
        "teacher.awareness.student-model",
        "student.data.know-when-to-stop",  # a fixed early stop at its average budget does better
        "interaction.student.component-scores",
        "task.teacher.adapt-to-students.architectures",
        "task.teacher.adapt-to-students.prior-knowledge",
        "evaluation.student.average-score",
        "evaluation.student.fine-grained-score",
        "interaction.student.per-item-score",  # sent by the mid-term interactions; no study yet
    },
    "missing": {
        "environment.language.human-subset.syntax",
        "environment.language.human-subset.pragmatics",
        "environment.language.unrestricted",
        "evaluation.student.specific-tasks.blimp",
        "evaluation.student.specific-tasks.big-bench",
    },
}
BEYOND = {
    "evaluation.student.heldout-final-exam": "evaluation.student.perplexity",
    "interaction.teacher.fresh-exams": "interaction.teacher.mid-term-exams",
    "student.training.several-at-once": "student.speaking.standard-lm",
}
UNIMPLEMENTED = "environment.language.unrestricted"


def builtin_registry() -> Registry:
    registry = Registry()
    registry.load_entry_points(external=False)
    return registry


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
            roadmap=(
                UNIMPLEMENTED,
                "teacher.speaking.no-such-step",
                "environment.language.artificial.different-domains",  # a deprecated id
                "environment.language.human-subset",  # an item with sub-items
            ),
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


def roadmap_json(cli, *args: str) -> dict:
    code, out, _ = cli("roadmap", "--json", *args)
    assert code == 0
    return json.loads(out)


# ---------------------------------------------------------------------------------- the table
def test_table_1_as_printed_matches_the_hand_count():
    cells = load_cells()
    ids = [c.id for c in cells]
    assert len(ids) == len(set(ids)) == BULLETS + SUB_ITEMS
    parents = {c.parent for c in cells if c.parent}
    assert sum(c.parent is None for c in cells) == BULLETS
    assert sum(c.parent is not None for c in cells) == SUB_ITEMS
    assert sum(c.id not in parents for c in cells) == STEPS
    assert sum(c.no_star for c in cells) == CONDITIONS
    assert {c.id for c in cells if c.paper} == set(STARRED_STEPS)
    assert {c.component for c in cells} == {"teacher", "student", "interaction", "environment", "task", "evaluation"}
    assert all(c.contributed_by is None for c in cells)
    assert roadmap_file().name == "table1.yaml" and roadmap_file().parent.name == "roadmap"


def test_items_carry_the_papers_words_and_marks():
    cells = {c.id: c for c in load_cells()}
    for cell_id, text in STARRED_STEPS.items():
        assert text.lower() in cells[cell_id].text.lower(), cell_id
    buffer = cells["teacher.awareness.memory-buffer"]
    assert buffer.no_star and buffer.text.startswith("(No∗) memory buffer") and not buffer.paper
    assert buffer.condition == "teacher.awareness.no-memory-buffer"
    assert cells["teacher.awareness.student-model"].condition == "teacher.awareness.no-student-model"
    assert cells["interaction.student.per-item-score"].text == "score per item on the exam set"
    assert cells["interaction.student.per-item-score"].parent == "interaction.student.fine-grained-score"
    assert cells["evaluation.student.specific-tasks.blimp"].parent == "evaluation.student.specific-tasks"
    assert not cells["student.data.use-all"].paper  # not starred in the table, though the paper's students do it


def test_steps_beyond_the_paper_are_kept_apart_and_never_counted(registry):
    table = {c.id for c in load_cells()}
    beyond = {c.id: c for c in load_beyond()}
    assert set(beyond) == set(BEYOND) and not set(beyond) & table
    assert all(beyond[cell_id].parent == parent and not beyond[cell_id].paper for cell_id, parent in BEYOND.items())
    roadmap = build_roadmap(registry)
    assert all(roadmap.get(cell_id).section == "beyond" and not roadmap.get(cell_id).counted for cell_id in BEYOND)
    assert roadmap.coverage().steps == STEPS


# ---------------------------------------------------------------------------------- status
def test_status_of_every_step_with_the_reference_plugins():
    roadmap = build_roadmap(builtin_registry())
    assert roadmap.warnings == []
    steps = [s for s in roadmap.cells if s.counted]
    found = {status: {s.cell.id for s in steps if s.status == status} for status in EXPECTED}
    assert found == EXPECTED
    coverage = roadmap.coverage()
    counts = tuple(len(EXPECTED[k]) for k in ("implemented", "partial", "missing"))
    assert (coverage.steps, coverage.implemented, coverage.partial, coverage.missing) == (34, *counts)
    assert (coverage.conditions, coverage.printed_leaves) == (2, 36)
    assert all(s.reason for s in steps if s.status != "implemented")


def test_every_implemented_cell_has_a_claim_and_a_study_with_its_ablation(registry):
    roadmap = build_roadmap(registry)
    implemented = [s for s in roadmap.cells if s.status == "implemented" and s.kind == "step"]
    assert len(implemented) >= len(EXPECTED["implemented"])
    for s in implemented:
        assert s.implemented_by, s.cell.id
        assert s.study is not None and s.study_file and Path(s.study_file).name == f"{s.cell.id}.yaml", s.cell.id
        assert s.study.ablation.strip() and s.study.verdict == "works", s.cell.id
        assert s.study.command and s.study.headline and s.study.date and s.study.commit, s.cell.id


def test_every_study_file_is_valid_and_names_its_cell():
    studies, files, warnings = load_studies()
    assert warnings == []
    known = {c.id for c in load_cells()} | {c.id for c in load_beyond()}
    assert set(studies) <= known and len(studies) >= 30
    for cell_id, study in studies.items():
        assert files[cell_id].stem == cell_id
        assert study.verdict == "works" or study.reason, cell_id  # a partial says why


def test_conditions_and_parents_are_shown_not_counted():
    roadmap = build_roadmap(builtin_registry())
    condition = roadmap.get("teacher.awareness.no-memory-buffer")
    assert condition.kind == "condition" and condition.status == "condition" and not condition.counted
    assert condition.cell.paper and condition.cell.parent == "teacher.awareness.memory-buffer"
    assert ("teacher", "select-bin") in {(i.kind, i.name) for i in condition.implemented_by}
    artificial = roadmap.get("environment.language.artificial")
    assert artificial.kind == "parent" and not artificial.counted and artificial.status == "implemented"
    human = roadmap.get("environment.language.human-subset")
    assert human.status == "partial" and "1 of 3" in human.reason
    scores = roadmap.get("evaluation.student.scores")
    assert scores.kind == "parent" and scores.status == "partial" and "0 of 2" in scores.reason


def _study(**changes) -> Study:
    data = dict(
        cell="a.b",
        status="implemented",
        mechanism="m",
        ablation="without m: worse",
        verdict="works",
        command="true",
        headline="h",
        date="2026-12-06",
    )
    return Study.model_validate({**data, **changes})


def test_the_status_rule():
    claim = [Implementer("teacher", "t", "ilm")]
    failed = [FailedClaim("p", "dist", "ImportError: boom")]
    assert judge(claim, [], _study()) == ("implemented", "")
    assert judge(claim, [], None) == ("partial", "no study recorded")
    assert judge(claim, [], _study(ablation=""))[0] == "partial"
    assert judge(claim, [], _study(verdict="not-shown", reason="r")) == ("partial", "r")
    assert judge(claim, [], _study(status="partial", reason="later")) == ("partial", "later")
    assert judge(claim, [], _study(plugins=["teacher other"]))[0] == "partial"
    assert judge(claim, [], _study(plugins=["teacher t"]))[0] == "implemented"
    assert judge([], [], _study()) == ("missing", "no installed plugin claims it")
    status, reason = judge([], failed, _study())
    assert status == "missing" and "failed to load" in reason and "boom" in reason
    assert _study(date="2026-12-06", commit=1234567).commit == "1234567"


def test_adding_a_study_file_flips_a_cell(tmp_path: Path, monkeypatch):
    """What a later commit does: one file in roadmap/studies/ turns a partial cell implemented."""
    folder = tmp_path / "roadmap"
    shutil.copytree(roadmap_file().parent, folder, ignore=shutil.ignore_patterns("__pycache__"))
    cell = "interaction.student.component-scores"
    registry = builtin_registry()
    assert build_roadmap(registry, table=folder).get(cell).status == "partial"
    (folder / "studies" / f"{cell}.yaml").write_text(
        f"cell: {cell}\nstatus: implemented\nmechanism: a teacher acts on component scores\n"
        "ablation: the same teacher with the feedback withheld, worse\nverdict: works\ncommand: ilm run\n"
        "seeds: [6639]\nheadline: better\ndate: 2026-12-06\ncommit: abc1234\n"
    )
    flipped = build_roadmap(registry, table=folder)
    assert flipped.get(cell).status == "implemented"
    assert flipped.coverage().implemented == build_roadmap(registry).coverage().implemented + 1


# ---------------------------------------------------------------------------------- plugins
def test_plugin_problems_are_warnings_naming_the_plugin(cli, monkeypatch):
    registry = Registry()
    registry.register(InlineTeacher, name="inline-teacher-plugin")
    roadmap = build_roadmap(registry)
    unknown = [w for w in roadmap.warnings if "teacher.speaking.no-such-step" in w]
    assert len(unknown) == 1 and "inline-generator" in unknown[0]
    dup = [w for w in roadmap.warnings if "'teacher.speaking.select-from-bin'" in w]
    assert len(dup) == 1 and "inline-teacher-plugin" in dup[0]
    assert roadmap.get("teacher.speaking.select-from-bin").cell.text == "Select data from bin"  # Table 1 wins
    alias = [w for w in roadmap.warnings if "different-domains" in w]
    assert len(alias) == 1 and "deprecated" in alias[0] and "environment.language.artificial.random" in alias[0]
    assert ("teacher", "inline-generator") in {
        (i.kind, i.name) for i in roadmap.get("environment.language.artificial.random").implemented_by
    }
    parent = [w for w in roadmap.warnings if "'environment.language.human-subset'" in w]
    assert len(parent) == 1 and "sub-items" in parent[0] and "human-subset.syntax" in parent[0]
    assert roadmap.get(UNIMPLEMENTED).status == "partial"  # claimed, no study
    old_id, new_id = "environment.language.artificial.different-domains", "environment.language.artificial.random"
    assert load_aliases() == {old_id: new_id}

    monkeypatch.setattr("ilm_roadmap.cli.default_registry", lambda: registry)
    code, out, err = cli("roadmap")
    assert code == 0 and "teacher.speaking.no-such-step" in err and "[missing]" in out
    assert "A step only this test knows" in out and "Table 1 coverage:" in out


def test_json_carries_status_claims_and_studies(cli, monkeypatch):
    registry = builtin_registry()
    monkeypatch.setattr("ilm_roadmap.cli.default_registry", lambda: registry)
    data = roadmap_json(cli)
    assert data["coverage"] == {
        "steps": 34,
        **{status: len(cells) for status, cells in EXPECTED.items()},
        "conditions": 2,
        "printed_leaves": 36,
    }
    cells = {c["id"]: c for c in data["cells"]}
    bin_cell = cells["teacher.speaking.select-from-bin"]
    assert bin_cell["status"] == "implemented" and bin_cell["counted"] and bin_cell["section"] == "table1"
    assert {"kind": "teacher", "name": "select-bin", "distribution": "ilm"} in bin_cell["claimed_by"]
    assert bin_cell["study"]["headline"] and bin_cell["study"]["rerun"].startswith("ilm roadmap study ")
    assert cells["teacher.awareness.student-model"]["reason"]  # a partial cell says why
    partial = roadmap_json(cli, "--status", "partial")
    assert {c["id"] for c in partial["cells"] if c["counted"]} == EXPECTED["partial"]
    missing = roadmap_json(cli, "--missing")
    assert {c["id"] for c in missing["cells"] if c["counted"]} == EXPECTED["missing"]


def _broken_plugin(tmp_path: Path, monkeypatch) -> Registry:
    """An installed plugin whose module fails on import, through a real (faked) entry point."""
    package = tmp_path / "site" / "wt_broken_plugin"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        "from ilm_core import TeacherSpec, hookimpl\n"
        "raise ImportError('needs a library that is not installed')\n"
        "@hookimpl\n"
        "def ilm_teachers():\n"
        "    yield TeacherSpec(name='broken', summary='s', factory='builtins:object',\n"
        f"                      roadmap=('{UNIMPLEMENTED}', 'teacher.speaking.select-from-bin'))\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    entry = EntryPoint(name="broken-teachers", value="wt_broken_plugin", group="ilm")
    real = __import__("importlib.metadata").metadata.entry_points
    monkeypatch.setattr(
        "ilm_core.registry.importlib.metadata.entry_points",
        lambda group=None, **kw: [*real(group=group), entry] if group == "ilm" else real(group=group, **kw),
    )
    registry = Registry()
    registry.load_entry_points(external=True)
    return registry


def test_a_broken_plugin_shows_its_cells_as_failed_not_gone(tmp_path: Path, monkeypatch, cli):
    registry = _broken_plugin(tmp_path, monkeypatch)
    assert [b.name for b in registry.broken] == ["broken-teachers"]
    roadmap = build_roadmap(registry)
    cell = roadmap.get(UNIMPLEMENTED)
    assert cell.status == "missing" and "claimed by a plugin that failed to load" in cell.reason
    assert [f.plugin for f in cell.failed_claims] == ["broken-teachers"]
    assert "not installed" in cell.failed_claims[0].reason
    assert roadmap.get("teacher.speaking.select-from-bin").status == "implemented"  # others still claim it
    assert roadmap.get("teacher.speaking.select-from-bin").failed_claims

    monkeypatch.setattr("ilm_roadmap.cli.default_registry", lambda: registry)
    code, out, _ = cli("roadmap")
    assert code == 0 and "claimed by a plugin that failed to load: broken-teachers" in " ".join(out.split())
    assert "Plugins that failed to load" in out
    data = roadmap_json(cli)
    (broken,) = data["broken_plugins"]
    assert broken["name"] == "broken-teachers" and UNIMPLEMENTED in broken["claims"]
    assert next(c for c in data["cells"] if c["id"] == UNIMPLEMENTED)["failed_claims"]


class NeedsALibrary:
    """A plugin whose spec needs a library that is not installed (listed as unavailable)."""

    __name__ = "needs-a-library"

    @staticmethod
    @hookimpl
    def ilm_teachers() -> Iterator[TeacherSpec]:
        yield TeacherSpec(
            name="needs-lib",
            summary="s",
            factory="builtins:object",
            requires=("wt_no_such_library",),
            install_hint="pip install wt-no-such-library",
            roadmap=(UNIMPLEMENTED,),
        )


def test_an_unavailable_plugins_claims_are_shown_not_counted():
    registry = Registry()
    registry.register(NeedsALibrary, name="needs-a-library")
    cell = build_roadmap(registry).get(UNIMPLEMENTED)
    assert cell.status == "missing" and not cell.implemented_by
    assert "not available" in cell.reason and "wt_no_such_library" in cell.reason
    assert cell.failed_claims[0].unavailable


# ---------------------------------------------------------------------------------- files
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
    bad.write_text("cells:\n  - {id: a.b, component: teacher, group: g, text: t, no_star: true}\n")
    with pytest.raises(ConfigError, match="No∗"):
        load_cells(bad)


def test_a_users_road_map_by_env_or_option(tmp_path: Path, monkeypatch, cli):
    (tmp_path / "table1.yaml").write_text("cells:\n  - {id: a.b, component: teacher, group: g, text: my step}\n")
    monkeypatch.setenv("ILM_ROADMAP", str(tmp_path))
    assert [c.id for c in load_cells()] == ["a.b"]
    monkeypatch.setenv("ILM_ROADMAP", str(tmp_path / "missing.yaml"))
    with pytest.raises(ConfigError, match="ILM_ROADMAP"):
        roadmap_file()
    monkeypatch.delenv("ILM_ROADMAP")
    monkeypatch.setattr("ilm_roadmap.cli.default_registry", builtin_registry)
    data = roadmap_json(cli, "--table", str(tmp_path / "table1.yaml"))
    assert [c["id"] for c in data["cells"]] == ["a.b"] and data["coverage"]["steps"] == 1
    code, _, err = cli("roadmap", "--table", str(tmp_path / "nope"))
    assert code == 2 and "--table" in err


def test_the_package_list_holds_every_package():
    """pyproject.toml lists the packages (roadmap/ installs renamed); a new subpackage must be added."""
    import tomllib

    from setuptools import find_namespace_packages

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    tools = ["ilm_core*", "ilm_report*", "ilm_devkit*", "ilm_threads*", "ilm_sweep*"]
    found = set(find_namespace_packages(str(ROOT), include=tools, exclude=["*__pycache__*"]))
    found |= set(find_namespace_packages(str(ROOT / "plugins"), include=["ilm_plugins*"], exclude=["*__pycache__*"]))
    assert listed == found | {"ilm_roadmap"}


# ---------------------------------------------------------------------------------- re-runs
def _fake_study_roadmap(tmp_path: Path, value: float) -> Path:
    folder = tmp_path / "rm"
    (folder / "studies").mkdir(parents=True)
    (folder / "table1.yaml").write_text(
        "cells:\n  - {id: teacher.speaking.select-from-bin, component: teacher, group: g, text: Select data from bin}\n"
    )
    write = f"import json; json.dump({{'run': {{'x': {value}}}}}, open(r'{{out}}/summary.json', 'w'))"
    command = json.dumps(f'{sys.executable} -c "{write}"')  # JSON is YAML: a quoted scalar
    (folder / "studies" / "teacher.speaking.select-from-bin.yaml").write_text(
        "cell: teacher.speaking.select-from-bin\nstatus: implemented\nmechanism: m\nablation: a\nverdict: works\n"
        "command: echo full\nheadline: x is 1.0\ndate: 2026-12-06\ncommit: abc1234\n"
        f"quick:\n  command: {command}\n  read: summary.json:run.x\n"
        "  expected: 1.0\n  tolerance: 0.05\n"
    )
    return folder


@pytest.mark.parametrize(("value", "code"), [(0.97, 0), (0.5, 1)])
def test_study_reruns_and_compares(tmp_path: Path, monkeypatch, cli, value: float, code: int):
    folder = _fake_study_roadmap(tmp_path, value)
    monkeypatch.setattr("ilm_roadmap.cli.default_registry", builtin_registry)
    got, out, err = cli("roadmap", "--table", str(folder), "study", "teacher.speaking.select-from-bin")
    assert got == code, out + err
    assert ("agrees" if code == 0 else "DISAGREES") in out and "recorded" in out
    got, out, _ = cli("roadmap", "study", "teacher.speaking.select-from-bin", "--table", str(folder), "--dry-run")
    assert got == 0 and "would compare" in out
    got, _, err = cli("roadmap", "study", "no.such.cell", "--table", str(folder))
    assert got == 2 and "no road-map cell" in err


def test_every_quick_rerun_reads_a_number(tmp_path: Path):
    studies, _, _ = load_studies()
    quick = {cell: s.quick for cell, s in studies.items() if s.quick}
    assert "teacher.speaking.select-from-bin" in quick
    for cell, check in quick.items():
        assert "{out}" in check.command and check.read and check.expected is not None and check.tolerance, cell


@pytest.mark.slow
def test_the_select_from_bin_study_reruns_within_tolerance(cli, tmp_path: Path, monkeypatch):
    """The cut-down study (12 episodes of 6 students, one seed; about 15 s on two cores)."""
    monkeypatch.chdir(ROOT)
    code, out, _ = cli("roadmap", "study", "teacher.speaking.select-from-bin", "--out", str(tmp_path / "s"))
    assert code == 0 and "agrees" in out, out


@pytest.mark.slow
def test_a_wheel_carries_the_road_map(tmp_path: Path):
    """A wheel install has no source tree: roadmap/ must travel inside it (as ilm_roadmap) and
    `ilm roadmap` from the installed wheel must list the same cells as the source tree."""
    import os
    import subprocess
    import zipfile

    source = tmp_path / "source"  # build a copy: no build/ in the tree
    skip = shutil.ignore_patterns("__pycache__", "*.egg-info")
    folders = ("ilm_core", "ilm_report", "ilm_devkit", "ilm_threads", "ilm_sweep", "plugins/ilm_plugins", "roadmap")
    for folder in folders:
        shutil.copytree(ROOT / folder, source / folder, ignore=skip)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), source],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("ilm-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert archive.read("ilm_roadmap/table1.yaml") == (ROOT / "roadmap" / "table1.yaml").read_bytes()
        assert "ilm_roadmap/beyond-the-paper.yaml" in names and "ilm_roadmap/README.md" in names
        studies = {p.name for p in (ROOT / "roadmap" / "studies").glob("*.yaml")}
        assert {n.rsplit("/", 1)[-1] for n in names if n.startswith("ilm_roadmap/studies/")} == studies
    target = tmp_path / "installed"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    env = {**os.environ, "PYTHONPATH": str(target), "ILM_NO_PLUGINS": "1"}
    env.pop("ILM_ROADMAP", None)
    script = "from ilm_core.cli import main; main(['roadmap', '--json'])"
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, check=True
    )
    data = json.loads(done.stdout)
    assert data["table"].startswith(str(target))
    here = build_roadmap(builtin_registry())
    assert [(c["id"], c["status"]) for c in data["cells"]] == [(s.cell.id, s.status) for s in here.cells]
