"""docs/writing-plugins.md documents every hook of `IlmSpecs`, in sync with hookspecs.py."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from ilm_core.hookspecs import IlmSpecs

DOC = Path(__file__).resolve().parents[1] / "docs" / "writing-plugins.md"
HOOKS = sorted(name for name in vars(IlmSpecs) if name.startswith("ilm_"))


def test_hooks_are_found():
    assert {"ilm_teachers", "ilm_roadmap_cells", "ilm_run_end"} <= set(HOOKS)


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_section_quoting_its_docstring(hook: str):
    text = DOC.read_text(encoding="utf-8")
    func = getattr(IlmSpecs, hook)
    args = ", ".join(p for p in inspect.signature(func).parameters if p != "self")
    heading = f"## {hook}({args})"
    assert heading in text.splitlines(), f"docs/writing-plugins.md lacks the section '{heading}'"
    section = text.split(heading, 1)[1].split("\n## ", 1)[0]
    first_line = (func.__doc__ or "").strip().splitlines()[0]
    assert first_line in section, f"the section '{heading}' does not quote its docstring: {first_line!r}"


def test_doc_covers_testing_packaging_and_switches():
    text = DOC.read_text(encoding="utf-8")
    for needle in ("registry.register(", "[project.entry-points.ilm]", "ILM_NO_PLUGINS=1", "ilm_roadmap_cells"):
        assert needle in text
