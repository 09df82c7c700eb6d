"""The road map (the paper's Table 1) as data, joined with the plugins that claim each step and
the studies that show whether the step works.

The road map is the top-level folder `roadmap/` of the repository, installed as the package
`ilm_roadmap` (so editable and wheel installs read it alike, through `importlib.resources`):

- `table1.yaml`: Table 1 as the paper prints it, one entry per item (sub-items with a `parent`);
- `beyond-the-paper.yaml`: steps ilm takes beyond the table (never counted as coverage);
- `studies/<cell-id>.yaml`: one study per cell: what was run, the command, the seeds, the
  headline number, the ablation of the mechanism, the verdict, date and commit.

A user's own road map (a `table1.yaml`, or a folder holding one) is chosen with `--table` or
`$ILM_ROADMAP`; its `beyond-the-paper.yaml` and `studies/` are read from beside it when present.

Status of a cell, decided here and nowhere else (`judge`):

- `implemented`: an installed plugin claims it, and its study has an ablation of the mechanism
  and the verdict `works` (and claims `implemented`);
- `partial`: a plugin claims it, but the study is missing, has no ablation, or does not show the
  mechanism working: the reason says which;
- `missing`: no installed plugin claims it (a plugin that claims it but failed to load is named).

Only Table 1's leaves count ("N of M"); an item with sub-items counts through them; the two
"(No∗) X" items are counted as the step X, their "no X" condition (what the paper took) is shown
as a condition and never counted. Problems in the table are errors (`ConfigError`); problems a
plugin or a study file causes are warnings returned as data, so one careless file never hides
the road map.
"""

from __future__ import annotations

import ast
import difflib
import importlib.util
import os
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from ilm_core.errors import ConfigError
from ilm_core.records import RoadmapCell
from ilm_core.registry import BrokenPlugin, Registry, describe_validation_error

ROADMAP_PACKAGE = "ilm_roadmap"
TABLE_FILE = "table1.yaml"
BEYOND_FILE = "beyond-the-paper.yaml"
STUDIES_DIR = "studies"
#: components in the order of Table 1 (teacher, student, interaction, environment) and after
COMPONENTS: tuple[str, ...] = ("teacher", "student", "interaction", "environment", "task", "evaluation")
STATUSES: tuple[str, ...] = ("implemented", "partial", "missing")
Status = Literal["implemented", "partial", "missing", "condition"]
Section = Literal["table1", "beyond", "plugin"]


# ---------------------------------------------------------------------------------- files
def roadmap_file(table: str | Path | None = None) -> Path:
    """Where Table 1 is read from: `table` (a file or its folder), else $ILM_ROADMAP, else the
    copy shipped as the package `ilm_roadmap` (the repository's `roadmap/`)."""
    override = str(table) if table else os.environ.get("ILM_ROADMAP")
    if not override:
        return Path(str(resources.files(ROADMAP_PACKAGE) / TABLE_FILE))
    path = Path(override) / TABLE_FILE if Path(override).is_dir() else Path(override)
    if not path.is_file():
        where = f"--table {override!r}" if table else f"ILM_ROADMAP={override!r}"
        raise ConfigError(f"{where} names no road map file; give a {TABLE_FILE} or the folder holding one")
    return path


def _read_yaml(path: Path) -> Any:
    import yaml

    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"the road map file {str(path)!r} cannot be read: {exc}") from None


def _cells_of(data: Any, path: Path) -> list[RoadmapCell]:
    raw = data.get("cells") if isinstance(data, dict) else None
    if not isinstance(raw, list):
        raise ConfigError(f"the road map {str(path)!r} must be a mapping with a list under 'cells'")
    cells: list[RoadmapCell] = []
    for i, item in enumerate(raw):
        try:
            cells.append(RoadmapCell.model_validate(item))
        except ValidationError as exc:
            label = item.get("id", f"#{i}") if isinstance(item, dict) else f"#{i}"
            raise ConfigError(
                f"road-map cell {label} in {path}: " + describe_validation_error(exc, prefix="cell", model=RoadmapCell)
            ) from None
    return cells


def load_cells(path: Path | None = None) -> list[RoadmapCell]:
    """Read and validate Table 1: every item a valid `RoadmapCell`, ids unique, parents known."""
    path = path or roadmap_file()
    cells = _cells_of(_read_yaml(path), path)
    _check_ids(cells, path, known=set())
    return cells


def load_aliases(path: Path | None = None) -> dict[str, str]:
    """Old cell ids that still work, mapped to the id that replaced them (`aliases:` of the table)."""
    path = path or roadmap_file()
    data = _read_yaml(path)
    aliases = data.get("aliases") if isinstance(data, dict) else None
    if aliases is None:
        return {}
    if not isinstance(aliases, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in aliases.items()):
        raise ConfigError(f"'aliases' in {path} must map old cell ids to current ones")
    return dict(aliases)


def load_beyond(table: Path | None = None, known: set[str] | None = None) -> list[RoadmapCell]:
    """The steps beyond the paper, read from `beyond-the-paper.yaml` beside the table (if any)."""
    table = table or roadmap_file()
    path = table.parent / BEYOND_FILE
    if not path.is_file():
        return []
    cells = _cells_of(_read_yaml(path), path)
    _check_ids(cells, path, known=known if known is not None else {c.id for c in load_cells(table)})
    return cells


def _check_ids(cells: list[RoadmapCell], path: Path, known: set[str]) -> None:
    seen = set(known)
    for cell in cells:
        for cell_id in (cell.id, cell.condition):
            if cell_id is None:
                continue
            if cell_id in seen:
                raise ConfigError(f"the road map {path} lists cell id {cell_id!r} twice; ids must be unique")
            seen.add(cell_id)
        if cell.no_star != (cell.condition is not None):
            raise ConfigError(f"road-map cell {cell.id!r} in {path}: a (No∗) item needs both no_star and condition")
    for cell in cells:
        if cell.parent is not None and cell.parent not in seen:
            raise ConfigError(
                f"road-map cell {cell.id!r} in {path} names parent {cell.parent!r}, which is not a cell"
                + _did_you_mean(cell.parent, seen)
            )


# ---------------------------------------------------------------------------------- studies
class StudyCheck(BaseModel):
    """A re-run of a study: a shell command ({out} is a fresh folder) and the number it compares."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    command: str
    #: "FILE:KEY" under {out} (KEY dotted into the JSON), the number compared with `expected`
    read: str | None = None
    expected: float | None = None
    #: largest accepted |re-run - expected|
    tolerance: float | None = None
    note: str = ""


class Study(BaseModel):
    """What was run for a cell and what it showed (`roadmap/studies/<cell-id>.yaml`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cell: str
    #: the author's claim; `judge` checks it against the ablation and the verdict
    status: Literal["implemented", "partial"]
    #: "kind name" of the plugins the study ran
    plugins: tuple[str, ...] = ()
    mechanism: str
    #: the same study without the mechanism, and what it gave ("" when none was run)
    ablation: str = ""
    verdict: Literal["works", "not-shown", "fails"]
    #: one line: why the cell is not (yet) implemented
    reason: str = ""
    source: str = ""
    command: str
    seeds: tuple[int, ...] = ()
    headline: str
    result: str = ""
    date: str
    commit: str = ""
    quick: StudyCheck | None = None
    full: StudyCheck | None = None

    @property
    def was_run(self) -> bool:
        """False for a file that only records why a cell is partial (`command: "not run; ..."`)."""
        return not self.command.lower().startswith("not run")

    @field_validator("date", "commit", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        """YAML reads `2026-12-01` as a date and `1234567` as a number: both are meant as text."""
        return value.isoformat() if hasattr(value, "isoformat") else str(value) if isinstance(value, int) else value


def load_studies(table: Path | None = None) -> tuple[dict[str, Study], dict[str, Path], list[str]]:
    """Every study beside the table: by cell id, their files, and warnings for files that are bad."""
    import yaml

    folder = (table or roadmap_file()).parent / STUDIES_DIR
    studies: dict[str, Study] = {}
    files: dict[str, Path] = {}
    warnings: list[str] = []
    if not folder.is_dir():
        return studies, files, warnings
    for path in sorted(folder.glob("*.yaml")):
        try:
            study = Study.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        except (OSError, yaml.YAMLError) as exc:
            warnings.append(f"study {path.name} cannot be read: {exc}")
            continue
        except ValidationError as exc:
            warnings.append(f"study {path.name}: " + describe_validation_error(exc, prefix="study", model=Study))
            continue
        if path.stem != study.cell:
            warnings.append(f"study {path.name} names cell {study.cell!r}; name the file {study.cell}.yaml")
        if study.cell in studies:
            warnings.append(f"study {path.name}: cell {study.cell!r} has a study already ({files[study.cell].name})")
            continue
        studies[study.cell], files[study.cell] = study, path
    return studies, files, warnings


# ---------------------------------------------------------------------------------- status
@dataclass(frozen=True)
class Implementer:
    """A plugin that names a cell in its `roadmap` field."""

    kind: str
    name: str
    distribution: str | None


@dataclass(frozen=True)
class FailedClaim:
    """A plugin that names a cell but cannot run: it failed to load (its claims read from its
    source), or it is `unavailable` (a library it requires is not installed)."""

    plugin: str
    distribution: str | None
    reason: str
    unavailable: bool = False


def judge(claimed_by: list[Implementer], failed: list[FailedClaim], study: Study | None) -> tuple[str, str]:
    """The status rule: (status, reason). See the module docstring."""
    if not claimed_by:
        broken = [f for f in failed if not f.unavailable]
        if failed:
            names = ", ".join(f"{f.plugin} ({f.reason})" for f in broken or failed)
            what = "a plugin that failed to load" if broken else "a plugin that is not available"
            return "missing", f"claimed by {what}: {names}"
        return "missing", "no installed plugin claims it" + (f"; {study.reason}" if study and study.reason else "")
    if study is None:
        return "partial", "no study recorded"
    ran = {tuple(p.split(maxsplit=1)) for p in study.plugins}
    if ran and not ran & {(i.kind, i.name) for i in claimed_by}:
        return "partial", "the study ran " + ", ".join(study.plugins) + ", not installed or not claiming it"
    if study.verdict != "works" or study.status != "implemented":
        return "partial", study.reason or f"the study's verdict is {study.verdict!r}"
    if not study.ablation.strip():
        return "partial", "the study records no ablation of the mechanism"
    return "implemented", ""


@dataclass
class CellStatus:
    """A road-map cell, the plugins that claim it, its study and its status."""

    cell: RoadmapCell
    #: table1 (the paper's Table 1), beyond (roadmap/beyond-the-paper.yaml) or plugin (a plugin's cell)
    section: str = "table1"
    #: step (a leaf), parent (an item with sub-items, counted through them) or condition ("(No∗)")
    kind: str = "step"
    #: installed plugins that name this cell in `roadmap=` (claims; not proof that it works)
    implemented_by: list[Implementer] = field(default_factory=list)
    failed_claims: list[FailedClaim] = field(default_factory=list)
    study: Study | None = None
    study_file: str | None = None
    status: str = "missing"
    reason: str = ""
    #: ids of sub-items or finer cells whose status is implemented or partial
    refinements_implemented: list[str] = field(default_factory=list)

    @property
    def claimed(self) -> bool:
        return bool(self.implemented_by)

    @property
    def implemented(self) -> bool:
        return self.status == "implemented"

    @property
    def counted(self) -> bool:
        """Whether the cell counts in Table 1 coverage: a leaf step of the paper's table."""
        return self.section == "table1" and self.kind == "step"

    def to_dict(self) -> dict[str, Any]:
        study = None
        if self.study is not None:
            study = self.study.model_dump(mode="json", exclude={"quick", "full"})
            rerun = f"ilm roadmap study {self.cell.id}" if self.study.was_run else None
            study.update(file=self.study_file, rerun=rerun)
            study["quick"] = self.study.quick.model_dump(mode="json") if self.study.quick else None
        return {
            **self.cell.model_dump(mode="json"),
            "section": self.section,
            "kind": self.kind,
            "counted": self.counted,
            "status": self.status,
            "reason": self.reason,
            "implemented": self.implemented,
            "claimed_by": [asdict(i) for i in self.implemented_by],
            "implemented_by": [asdict(i) for i in self.implemented_by],
            "failed_claims": [asdict(f) for f in self.failed_claims],
            "study": study,
            "refinements_implemented": list(self.refinements_implemented),
        }


@dataclass
class Coverage:
    """Table 1 coverage: the paper's leaf steps by status, and how the count is made."""

    steps: int
    implemented: int
    partial: int
    missing: int
    conditions: int

    @property
    def printed_leaves(self) -> int:
        return self.steps + self.conditions

    def to_dict(self) -> dict[str, int]:
        return {**asdict(self), "printed_leaves": self.printed_leaves}


@dataclass
class Roadmap:
    """Table 1, the steps beyond it and plugin cells, in display order, with their status."""

    cells: list[CellStatus]
    warnings: list[str] = field(default_factory=list)
    broken: list[BrokenPlugin] = field(default_factory=list)
    table: str = ""

    def get(self, cell_id: str) -> CellStatus:
        for status in self.cells:
            if status.cell.id == cell_id:
                return status
        raise KeyError(cell_id)

    def with_status(self, status: str) -> list[CellStatus]:
        return [s for s in self.cells if s.status == status]

    def missing(self) -> list[CellStatus]:
        return self.with_status("missing")

    def coverage(self) -> Coverage:
        steps = [s for s in self.cells if s.counted]
        return Coverage(
            steps=len(steps),
            implemented=sum(s.status == "implemented" for s in steps),
            partial=sum(s.status == "partial" for s in steps),
            missing=sum(s.status == "missing" for s in steps),
            conditions=sum(s.kind == "condition" and s.section == "table1" for s in self.cells),
        )

    def to_dict(self, *, status: str | None = None) -> dict[str, Any]:
        shown = self.with_status(status) if status else self.cells
        return {
            "table": self.table,
            "coverage": self.coverage().to_dict(),
            "cells": [s.to_dict() for s in shown],
            "broken_plugins": [
                {"name": b.name, "distribution": b.distribution, "reason": b.reason, "claims": _claims_in_source(b)}
                for b in self.broken
            ],
            "warnings": list(self.warnings),
        }


def build_roadmap(
    registry: Registry, cells: list[RoadmapCell] | None = None, *, table: str | Path | None = None
) -> Roadmap:
    """Join Table 1 (and the steps beyond it, and plugin cells) with the plugins that claim each
    step and the studies recorded for it. `cells` replaces the table's cells (tests)."""
    warnings: list[str] = []
    path = roadmap_file(table)
    table_cells = list(cells) if cells is not None else load_cells(path)
    aliases = load_aliases(path) if cells is None else {}
    conditions = {c.condition: c for c in table_cells if c.condition}
    known_ids = {c.id for c in table_cells} | set(conditions)
    beyond = load_beyond(path, known_ids) if cells is None else []
    studies, study_files, study_warnings = load_studies(path) if cells is None else ({}, {}, [])
    warnings += study_warnings

    status: dict[str, CellStatus] = {}
    parents = {c.parent for c in table_cells if c.parent}
    for cell in table_cells:
        status[cell.id] = CellStatus(cell, "table1", "parent" if cell.id in parents else "step")
        if cell.condition:
            text = cell.text.removeprefix("(No∗)").strip()
            condition = RoadmapCell(
                id=cell.condition,
                component=cell.component,
                group=cell.group,
                text=f"No {text}",
                paper=True,
                parent=cell.id,
            )
            status[cell.condition] = CellStatus(condition, "table1", "condition", status="condition")
    for cell in beyond:
        status[cell.id] = CellStatus(cell, "beyond")
    for cell in registry.roadmap_cells():
        who = cell.contributed_by or "a plugin"
        if cell.id in status or cell.id in aliases:
            first = status[cell.id].section if cell.id in status else "an alias"
            warnings.append(f"plugin {who} adds road-map cell {cell.id!r}, which {first} already defines; ignored")
            continue
        status[cell.id] = CellStatus(cell, "plugin")
    for s in status.values():
        if s.section == "plugin" and s.cell.parent is not None and s.cell.parent not in status:
            warnings.append(
                f"plugin {s.cell.contributed_by} adds road-map cell {s.cell.id!r} with parent {s.cell.parent!r}, "
                "which is not a cell" + _did_you_mean(s.cell.parent, status)
            )

    specs = registry.all_specs()  # collecting specs may record more broken plugins
    for spec in specs:
        needs = spec.missing_requirements()
        for named in spec.roadmap:
            cell_id = _resolve(named, aliases, status, warnings, f"{spec.kind} plugin '{spec.name}'", spec.distribution)
            if cell_id is None:
                continue
            if needs:  # installed, but it cannot run here: shown, not counted as a claim
                hint = f"; {spec.install_hint}" if spec.install_hint else ""
                reason = f"needs {', '.join(needs)}{hint}"
                why = FailedClaim(f"{spec.kind} {spec.name}", spec.distribution, reason, unavailable=True)
                if why not in status[cell_id].failed_claims:
                    status[cell_id].failed_claims.append(why)
                continue
            claimer = Implementer(spec.kind, spec.name, spec.distribution)
            if claimer not in status[cell_id].implemented_by:
                status[cell_id].implemented_by.append(claimer)
            if status[cell_id].kind == "parent":
                children = ", ".join(c for c, s in status.items() if s.cell.parent == cell_id and s.kind != "condition")
                warnings.append(
                    f"{spec.kind} plugin '{spec.name}' (from {spec.distribution}) names {cell_id!r}, an item of "
                    f"Table 1 with sub-items; it counts through them, so name the ones it implements: {children}"
                )
    for broken in registry.broken:
        failed = FailedClaim(broken.name, broken.distribution, broken.reason)
        for named in _claims_in_source(broken):
            cell_id = _resolve(named, aliases, status, None, "", None)
            if cell_id is not None and failed not in status[cell_id].failed_claims:
                status[cell_id].failed_claims.append(failed)

    for cell_id, s in status.items():
        if s.kind == "condition":
            continue
        s.study = studies.get(cell_id)
        s.study_file = str(study_files[cell_id]) if cell_id in study_files else None
        if s.kind == "step":
            s.status, s.reason = judge(s.implemented_by, s.failed_claims, s.study)
    for cell_id in studies:
        if cell_id not in status:
            warnings.append(f"study {study_files[cell_id].name} is for cell {cell_id!r}, which is not in the road map")
    for s in status.values():  # parents count through their sub-items
        if s.kind == "parent":
            sub_items = [c for c in status.values() if c.cell.parent == s.cell.id and c.kind != "condition"]
            s.status, s.reason = _through_children(sub_items)
    for s in status.values():
        if s.status in ("implemented", "partial") and s.kind != "condition":
            for ancestor in _ancestors(s.cell, status):
                status[ancestor].refinements_implemented.append(s.cell.id)
    return Roadmap(
        cells=_ordered(list(status.values())), warnings=warnings, broken=list(registry.broken), table=str(path)
    )


def _resolve(
    named: str,
    aliases: dict[str, str],
    status: dict[str, CellStatus],
    warnings: list[str] | None,
    who: str,
    distribution: str | None,
) -> str | None:
    """The cell a claimed id counts for (an alias counts, with a warning), or None (warned)."""
    if named in status:
        return named
    if named in aliases and aliases[named] in status:
        if warnings is not None:
            warnings.append(
                f"{who} (from {distribution}) names road-map cell {named!r}, a deprecated id; it counts for "
                f"{aliases[named]!r}: rename it in roadmap="
            )
        return aliases[named]
    if warnings is not None:
        warnings.append(
            f"{who} (from {distribution}) names road-map cell {named!r}, which does not exist"
            + _did_you_mean(named, status)
            + " Run `ilm roadmap` to see every cell id."
        )
    return None


def _through_children(children: list[CellStatus]) -> tuple[str, str]:
    if not children:
        return "missing", "no sub-items"
    states = [c.status for c in children]
    done = sum(s == "implemented" for s in states)
    if done == len(states):
        return "implemented", ""
    if any(s in ("implemented", "partial") for s in states):
        return "partial", f"{done} of {len(states)} sub-items implemented"
    return "missing", "no sub-item claimed"


def _claims_in_source(broken: BrokenPlugin) -> list[str]:
    """The cell ids a plugin that failed to load names in `roadmap=(...)`, read from its source
    without importing it (string constants only; an empty list when the source cannot be found)."""
    if not broken.module:
        return []
    try:
        spec = importlib.util.find_spec(broken.module)
    except (ImportError, ValueError, AttributeError):
        return []
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return []
    origin = Path(spec.origin)
    files = sorted(origin.parent.rglob("*.py")) if spec.submodule_search_locations else [origin]
    found: list[str] = []
    for path in files:
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (OSError, SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg == "roadmap":
                for leaf in ast.walk(node.value):
                    if isinstance(leaf, ast.Constant) and isinstance(leaf.value, str) and leaf.value not in found:
                        found.append(leaf.value)
    return found


def _walk(children: dict[str | None, list[CellStatus]], parent: str | None, out: list[CellStatus]) -> None:
    for s in children.get(parent, []):
        out.append(s)
        _walk(children, s.cell.id, out)


def _ancestors(cell: RoadmapCell, status: dict[str, CellStatus]) -> list[str]:
    found: list[str] = []
    parent = cell.parent
    while parent in status and parent not in found and parent != cell.id:
        found.append(parent)
        parent = status[parent].cell.parent
    return found


def _ordered(cells: list[CellStatus]) -> list[CellStatus]:
    """Table 1 first, then the steps beyond it, then plugin cells not placed under a Table 1 or
    beyond cell; inside each, components in Table 1's order, groups in order of first appearance,
    and each cell followed by the cells that refine it."""
    by_id = {s.cell.id: s for s in cells}

    def home(s: CellStatus) -> str:
        seen = {s.cell.id}
        while s.section == "plugin" and s.cell.parent in by_id and s.cell.parent not in seen:
            s = by_id[s.cell.parent]
            seen.add(s.cell.id)
        return s.section

    ordered: list[CellStatus] = []
    for section in ("table1", "beyond", "plugin"):
        members_all = [s for s in cells if home(s) == section]
        groups: dict[tuple[str, str], list[CellStatus]] = {}
        for s in members_all:
            groups.setdefault((s.cell.component, s.cell.group), []).append(s)
        for key in sorted(groups, key=lambda k: COMPONENTS.index(k[0])):  # stable: keeps group order
            members = groups[key]
            ids = {s.cell.id for s in members}
            children: dict[str | None, list[CellStatus]] = {}
            for s in members:
                children.setdefault(s.cell.parent if s.cell.parent in ids else None, []).append(s)
            start = len(ordered)
            _walk(children, None, ordered)
            seen = {id(s) for s in ordered[start:]}
            ordered.extend(s for s in members if id(s) not in seen)  # parent cycles: never lose a cell
    return ordered


def _did_you_mean(name: str, choices: Any) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else "."


# ---------------------------------------------------------------------------------- re-runs
@dataclass
class StudyRun:
    """The outcome of `ilm roadmap study CELL`."""

    cell: str
    command: str
    returncode: int
    value: float | None
    expected: float | None
    tolerance: float | None
    out: str

    @property
    def agrees(self) -> bool | None:
        if self.returncode != 0:
            return False
        if self.value is None or self.expected is None or self.tolerance is None:
            return None
        return abs(self.value - self.expected) <= self.tolerance


def rerun_study(study: Study, out: Path, *, full: bool = False, dry_run: bool = False) -> StudyRun:
    """Run a study's cut-down check (or, with `full`, its full check or command) in the current
    folder, with {out} set to `out`, and read back the number it compares."""
    import json
    import subprocess

    if full and study.full is None and not study.was_run:
        raise ConfigError(f"no study has been run for {study.cell!r}: {study.reason or study.headline}")
    check = (study.full or StudyCheck(command=study.command)) if full else study.quick
    if check is None:
        raise ConfigError(
            f"the study of {study.cell!r} records no cut-down re-run ('quick:'); run it in full with "
            f"`ilm roadmap study {study.cell} --full` ({len(study.command.splitlines())} command(s))"
        )
    command = check.command.replace("{out}", str(out))
    if dry_run:
        return StudyRun(study.cell, command, 0, None, check.expected, check.tolerance, str(out))
    out.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["bash", "-c", command], check=False)
    value = None
    if done.returncode == 0 and check.read:
        file, _, key = check.read.partition(":")
        try:
            data: Any = json.loads((out / file).read_text(encoding="utf-8"))
            for part in key.split("."):
                data = data[part]
            value = float(data)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"the study's re-run wrote no number at {check.read!r} under {out}: {exc}") from None
    return StudyRun(study.cell, command, done.returncode, value, check.expected, check.tolerance, str(out))
