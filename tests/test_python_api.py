"""The in-memory, step-wise Python API (docs/python-api.md): its example runs as written, and a
run stopped and continued gives the records of a run that never stopped."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ilm_core import ConfigError, Experiment, default_registry, resolve

DOC = Path(__file__).resolve().parents[1] / "docs" / "python-api.md"


def test_the_docs_example_runs_as_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (code,) = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    exec(code, {})
    assert list(tmp_path.iterdir()) == []  # in memory: nothing written


def _config(episodes: int = 5):
    from conftest import TINY_DOMAINS, tiny_student

    raw = {
        "environment": TINY_DOMAINS,
        "teacher": {"name": "select-bin", "params": {"lm_updates": 5, "lm_dim": 16}},
        "student": tiny_student(3),
        "n_students": 3,
        "budget": 4,
        "episodes": episodes,
        "seed": 11,
    }
    return resolve(raw, default_registry())


def _numbers(records):
    return [r.to_json() | {"seconds": 0} for r in records]


def test_stopping_and_going_on_gives_the_records_of_an_unbroken_run():
    registry = default_registry()
    whole = _numbers(Experiment(_config(), registry).episodes())
    first = Experiment(_config(), registry)
    head = []
    for record in first.episodes():
        head.append(record)
        if record.episode == 1:
            break
    again = list(first.episodes())  # the same object goes on
    assert _numbers(head + again) == whole
    stopped = Experiment(_config(), registry)
    head = [r for _, r in zip(range(2), stopped.episodes(), strict=False)]
    later = Experiment(_config(), registry)
    later.load_state_dict(stopped.state_dict())  # another object (another process) goes on
    assert _numbers(head + list(later.episodes())) == whole


def test_run_without_a_run_directory_says_what_to_do():
    with pytest.raises(ConfigError, match=r"Experiment\.episodes\(\)"):
        Experiment(_config(), default_registry()).run()


def test_each_record_says_how_long_its_episode_took():
    """`seconds` is the episode's own wall time: more than nothing, no more than the wait for its record."""
    import time

    episodes = Experiment(_config(episodes=3), default_registry()).episodes()
    next(episodes)  # the set-up comes with the first record
    for _ in range(2):
        start = time.perf_counter()
        record = next(episodes)
        assert 0 < record.seconds <= time.perf_counter() - start + 1e-4
