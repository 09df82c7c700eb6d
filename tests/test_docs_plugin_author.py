"""docs/writing-plugins.md, read as a plugin author reads it: its names exist, its examples run."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest

import ilm_core
from ilm_core import RoundContext, SentencePreferences, Teacher, TeacherContext, set_up
from ilm_roadmap.status import build_roadmap

DOC = Path(__file__).resolve().parents[1] / "docs" / "writing-plugins.md"
TEXT = DOC.read_text(encoding="utf-8")


def section(title: str) -> str:
    """The text of the `## title` section, up to the next `## ` heading."""
    start = TEXT.index(f"\n## {title}\n")
    rest = TEXT[start + len(title) + 5 :]
    return rest.split("\n## ", 1)[0]


def code_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, re.S)


def first_column(text: str) -> list[str]:
    """The backticked names in the first column of a section's table."""
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    return [re.match(r"\| `([^`(]+)", row).group(1) for row in rows]


def test_every_name_of_the_public_api_table_is_exported_and_every_export_is_listed():
    table = section("Public API")
    listed = set(re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)", table))
    assert set(ilm_core.__all__) <= listed, set(ilm_core.__all__) - listed
    for name in ("Registry", "RunInfo", "TeacherDivergedError"):
        assert name in listed and hasattr(ilm_core, name)
    rows = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith("| who")]
    assert len(rows) <= 14, "the public API is meant to fit on one screen"


def test_the_names_that_moved_out_of_the_core_still_import_with_a_warning():
    import importlib

    for name, (module, attr) in ilm_core.MOVED.items():
        with pytest.warns(DeprecationWarning, match=f"{module}.{attr}"):
            moved = getattr(ilm_core, name)
        assert moved is getattr(importlib.import_module(module), attr)


def test_the_teacher_table_names_the_abstract_methods_and_every_default():
    text = section("A teacher's methods and what the defaults do")
    rows = {m: line for line in text.splitlines() if (m := re.match(r"\| `(\w+)\(", line))}
    methods = {m.group(1): line for m, line in rows.items()}
    abstract = {name for name, line in methods.items() if "| yes (abstract) |" in line}
    assert abstract == set(Teacher.__abstractmethods__)
    for name in methods:
        assert callable(getattr(Teacher, name)), name


def test_the_preferences_table_lists_the_fields_of_sentence_preferences():
    assert first_column(section("Preferences: what `ilm inspect` shows")) == list(SentencePreferences.model_fields)


def test_the_token_conventions_are_those_of_the_reference_code():
    from ilm_plugins.torchlm import eos_id, pad_id

    text = section("Token ids")
    assert "padding `V`" in text and "end-of-sentence `V + 1`" in text
    assert pad_id(10) == 10 and eos_id(10) == 11
    assert "n + 1 predictions" in text


def test_a_road_map_id_with_more_than_three_parts_is_documented_and_exists(registry):
    text = section("Adding a road-map cell")
    example = re.search(r"`(environment\.language\.artificial\.\w+)`", text).group(1)
    assert example in {status.cell.id for status in build_roadmap(registry).cells}


def test_the_lookup_example_runs_against_the_first_plugin_on_the_page(monkeypatch):
    plugin = types.ModuleType("my_pkg")
    exec(code_blocks(section("Quick start"))[0], plugin.__dict__)  # the whole-plugin example: first-k
    monkeypatch.setitem(sys.modules, "my_pkg", plugin)
    (lookup,) = code_blocks(section("Looking up plugins and the road map in a test"))
    exec(lookup, {})


def test_the_teacher_lm_example_and_table():
    text = section("A teacher with its own language model")
    cells = [line.split("|")[1] for line in text.splitlines() if line.startswith("| `")]  # first column
    names = set(re.findall(r"`(\w+)", " ".join(cells)))
    assert {"TeacherLM", "pretrain", "nll", "perplexity", "embed", "state_dict", "load_state_dict", "model"} <= names
    namespace: dict = {}
    # the example as written, with a shorter pretraining (seconds, not a test of learning)
    exec(code_blocks(text)[0].replace("updates=300", "updates=5"), namespace)
    teacher = namespace["MostFluent"]()
    sentences = [[i % 4, (i + 1) % 4, 3] for i in range(12)]
    set_up(
        teacher,
        TeacherContext(
            vocabulary=list("abcd"), teacher_corpus=sentences[:6], pool=sentences[6:], budget=2, n_students=2, seed=0
        ),
    )
    assert tuple(teacher.features.shape) == (6, 64)
    for name in names - {"TeacherLM"}:
        assert hasattr(teacher.lm, name), name  # every documented method and attribute exists
    lessons = teacher.select(RoundContext.one_round(n_students=2, episode=0, size=2))
    assert [len(lesson.indices) for lesson in lessons] == [2, 2]


@pytest.mark.parametrize("needle", ["ilm plugins\n--check", "installed but\nbroken"])
def test_the_broken_plugin_section_says_how_to_find_one(needle):
    assert " ".join(needle.split()) in " ".join(section("When a plugin breaks").split())


def test_the_testing_example_runs_against_the_first_plugin_on_the_page(monkeypatch, tmp_path):
    """The plugin author's tests, as the page shows them, pass with `ilm_devkit.testing` alone."""
    plugin = types.ModuleType("my_pkg")
    exec(code_blocks(section("Quick start"))[0], plugin.__dict__)
    monkeypatch.setitem(sys.modules, "my_pkg", plugin)
    tests: dict = {}
    exec(code_blocks(section("Testing a plugin in-process"))[0], tests)
    tests["test_first_k"]()
    tests["test_a_tiny_run"](tmp_path)
    helpers = set(first_column(section("Testing a plugin in-process")))
    import ilm_devkit.testing

    assert helpers <= set(ilm_devkit.testing.__all__), helpers - set(ilm_devkit.testing.__all__)
