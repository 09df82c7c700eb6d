"""docs/writing-plugins.md documents every hook of `IlmSpecs`, in sync with hookspecs.py."""

from __future__ import annotations

import inspect
import re
import types
from pathlib import Path

import pytest

from ilm_core import RoundContext
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


ROOT = DOC.parents[1]
USER_DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
#: repository paths a doc may name in backticks or links: these must exist
REPO_PATH = re.compile(r"(?:configs|experiments|docs|benchmarks|plugins|tests)/[\w./-]*\.(?:toml|py|sh|md|png)")


@pytest.mark.parametrize("doc", USER_DOCS, ids=lambda p: p.name)
def test_docs_name_only_files_of_the_repository(doc: Path):
    text = doc.read_text(encoding="utf-8")
    assert "DESIGN.md" not in text and "/work/" not in text, f"{doc.name} cites a file outside the repository"
    for path in REPO_PATH.findall(text):
        here = (doc.parent / path) if (doc.parent / path).exists() else ROOT / path
        assert here.exists(), f"{doc.name} names {path}, which is not in the repository"
    for link in re.findall(r"\]\(([^)#]+\.md)(?:#[^)]*)?\)", text):
        assert (doc.parent / link).exists(), f"{doc.name} links to {link}, which is not in the repository"


def test_the_report_and_the_readme_stay_short():
    # the regime study and the paper's combination, with their tables, live in the report too
    assert len((ROOT / "docs" / "reproduction.md").read_text(encoding="utf-8").splitlines()) <= 270
    assert len((ROOT / "README.md").read_text(encoding="utf-8").splitlines()) <= 100


def test_readme_plugin_example_registers_and_teaches():
    """The README's plugin example is code that runs: its teacher sends the first `budget` sentences."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    code = text.split("## A plugin", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    module = types.ModuleType("readme_first_k")
    exec(compile(code, "README.md", "exec"), module.__dict__)
    spec = next(module.ilm_teachers())
    teacher = spec.factory(spec.params(offset=3))
    teacher.context = types.SimpleNamespace(budget=4, pool=[[1]] * 20)
    lessons = teacher.select(RoundContext.one_round(n_students=2, episode=0, size=4))
    assert [lesson.indices for lesson in lessons] == [[3, 4, 5, 6]] * 2
    later = RoundContext(episode=0, round=1, rounds=2, size=2, n_students=2, sent=[[3, 4], [0, 5]])
    assert [lesson.indices for lesson in teacher.select(later)] == [[5, 6], [4, 6]]  # what each has not received
