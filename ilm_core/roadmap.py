"""The road map (the paper's Table 1) as data, joined with the plugins that implement it.

Table 1 is package data, `ilm_core/data/table1.yaml`, read through `importlib.resources`, so
editable and wheel installs find it alike. `ILM_ROADMAP` (a file or a folder) overrides it.

Problems in the table itself are errors (`ConfigError`); problems a plugin causes (a cell id
it names that does not exist, a cell id it adds twice) are warnings returned as data, so one
careless plugin never hides the road map.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ilm_core.errors import ConfigError
from ilm_core.records import RoadmapCell
from ilm_core.registry import Registry, describe_validation_error

TABLE_FILE = "table1.yaml"
#: components in the order of Table 1 (teacher, student, interaction, environment) and after
COMPONENTS: tuple[str, ...] = ("teacher", "student", "interaction", "environment", "task", "evaluation")


def roadmap_file() -> Path:
    """Where Table 1 is read from: $ILM_ROADMAP, else the copy shipped inside `ilm_core`."""
    override = os.environ.get("ILM_ROADMAP")
    if not override:
        return Path(str(resources.files("ilm_core") / "data" / TABLE_FILE))
    path = Path(override) / TABLE_FILE if Path(override).is_dir() else Path(override)
    if not path.is_file():
        raise ConfigError(f"ILM_ROADMAP={override!r} names no road map file; set it to a {TABLE_FILE} or its folder")
    return path


def load_cells(path: Path | None = None) -> list[RoadmapCell]:
    """Read and validate Table 1: every cell a valid `RoadmapCell`, ids unique, parents known."""
    import yaml

    path = path or roadmap_file()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"the road map {str(path)!r} cannot be read: {exc}") from None
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
    seen: set[str] = set()
    for cell in cells:
        if cell.id in seen:
            raise ConfigError(f"the road map {path} lists cell id {cell.id!r} twice; ids must be unique")
        seen.add(cell.id)
    for cell in cells:
        if cell.parent is not None and cell.parent not in seen:
            raise ConfigError(
                f"road-map cell {cell.id!r} in {path} names parent {cell.parent!r}, which is not a cell"
                + _did_you_mean(cell.parent, seen)
            )
    return cells


@dataclass(frozen=True)
class Implementer:
    """A plugin that names a cell in its `roadmap` field."""

    kind: str
    name: str
    distribution: str | None


@dataclass
class CellStatus:
    """A road-map cell and the installed plugins that implement it."""

    cell: RoadmapCell
    implemented_by: list[Implementer] = field(default_factory=list)
    #: ids of implemented cells that refine this one (its descendants through `parent`)
    refinements_implemented: list[str] = field(default_factory=list)

    @property
    def implemented(self) -> bool:
        """Whether an installed plugin names this very cell (refinements do not count)."""
        return bool(self.implemented_by)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.cell.model_dump(mode="json"),
            "implemented": self.implemented,
            "implemented_by": [asdict(i) for i in self.implemented_by],
            "refinements_implemented": list(self.refinements_implemented),
        }


@dataclass
class Roadmap:
    """Table 1 plus plugin cells, in display order, with who implements what."""

    cells: list[CellStatus]
    warnings: list[str] = field(default_factory=list)

    def get(self, cell_id: str) -> CellStatus:
        for status in self.cells:
            if status.cell.id == cell_id:
                return status
        raise KeyError(cell_id)

    def missing(self) -> list[CellStatus]:
        return [s for s in self.cells if not s.implemented]

    def to_dict(self, *, missing_only: bool = False) -> dict[str, Any]:
        shown = self.missing() if missing_only else self.cells
        return {"cells": [s.to_dict() for s in shown], "warnings": list(self.warnings)}


def build_roadmap(registry: Registry, cells: list[RoadmapCell] | None = None) -> Roadmap:
    """Merge plugin cells into Table 1 and join every cell with the plugins that name it."""
    warnings: list[str] = []
    merged = list(cells if cells is not None else load_cells())
    known = {c.id: c for c in merged}
    for cell in registry.roadmap_cells():
        who = cell.contributed_by or "a plugin"
        if cell.id in known:
            first = known[cell.id].contributed_by or "the paper's Table 1 (ilm_core/data/table1.yaml)"
            warnings.append(f"plugin {who} adds road-map cell {cell.id!r}, which {first} already defines; ignored")
            continue
        known[cell.id] = cell
        merged.append(cell)
    for cell in merged:
        if cell.contributed_by and cell.parent is not None and cell.parent not in known:
            warnings.append(
                f"plugin {cell.contributed_by} adds road-map cell {cell.id!r} with parent {cell.parent!r}, "
                "which is not a cell" + _did_you_mean(cell.parent, known)
            )

    status = {c.id: CellStatus(c) for c in merged}
    for spec in registry.all_specs():
        for cell_id in spec.roadmap:
            if cell_id in status:
                status[cell_id].implemented_by.append(Implementer(spec.kind, spec.name, spec.distribution))
            else:
                warnings.append(
                    f"{spec.kind} plugin '{spec.name}' (from {spec.distribution}) names road-map cell "
                    f"{cell_id!r}, which does not exist"
                    + _did_you_mean(cell_id, status)
                    + " Run `ilm roadmap` to see every cell id."
                )
    for cell_status in status.values():
        if cell_status.implemented:
            for ancestor in _ancestors(cell_status.cell, status):
                status[ancestor].refinements_implemented.append(cell_status.cell.id)
    return Roadmap(cells=_ordered(list(status.values())), warnings=warnings)


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
    """Components in Table 1's order, groups in order of first appearance, and inside a group
    each cell followed by the cells that refine it (so a plugin's cell sits under its parent)."""
    groups: dict[tuple[str, str], list[CellStatus]] = {}
    for s in cells:
        groups.setdefault((s.cell.component, s.cell.group), []).append(s)
    ordered: list[CellStatus] = []
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
