"""Measures are plugins: an inline one adds its values to metrics.jsonl, a run may measure nothing,
a failing measure is named, and an environment without exam-domain labels is handled before a run
directory is made."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest
from conftest import TINY_ANY_TEACHER

from ilm_core import (
    DEFAULT_MEASURES,
    ConfigError,
    EnvironmentSpec,
    Measure,
    MeasureResult,
    MeasureSpec,
    PluginError,
    UnknownPluginError,
    hookimpl,
)
from ilm_core.config import assemble, resolve
from ilm_core.loop import Experiment
from ilm_core.rundir import RunDir
from ilm_plugins.environments import DomainsParams
from ilm_plugins.environments.languages import DomainsEnvironment

#: a tiny run of the random teacher: conftest's tiny settings, 2 episodes of 2 students
SMALL = assemble(
    None,
    {"teacher": "random", "episodes": 2, "n_students": 2, "budget": 3},
    [TINY_ANY_TEACHER[i + 1] for i, flag in enumerate(TINY_ANY_TEACHER) if flag == "--set"],
)


class TokensTaught(Measure):
    """Tokens each student was taught, and their mean per episode."""

    def __init__(self, params=None):
        self.seen: list[int] = []

    def measure(self, episode):
        self.seen.append(episode.episode)
        tokens = [float(sum(len(s) for s in taught)) for taught in episode.taught]
        return MeasureResult(per_student={"tokens": tokens}, episode={"tokens_mean": statistics.fmean(tokens)})


class Raises(Measure):
    def __init__(self, params=None):
        pass

    def measure(self, episode):
        raise ZeroDivisionError("no episode to divide by")


class Clashes(Measure):
    def __init__(self, params=None):
        pass

    def measure(self, episode):
        return MeasureResult(per_student={"perplexity": [0.0] * len(episode.lessons)})


class Unlabelled(DomainsEnvironment):
    """The paper's domains, built without saying which pool sentences are from the exam's domain."""

    def build(self, seed):
        return super().build(seed).model_copy(update={"pool_in_exam_domain": None})


class Plugins:
    @hookimpl
    def ilm_measures(self):
        yield MeasureSpec(name="tokens-taught", summary="tokens taught", factory=TokensTaught)
        yield MeasureSpec(name="raises", summary="raises", factory=Raises)
        yield MeasureSpec(name="clashes", summary="writes a core name", factory=Clashes)

    @hookimpl
    def ilm_environments(self):
        yield EnvironmentSpec(name="unlabelled", summary="no labels", factory=Unlabelled, params=DomainsParams)


@pytest.fixture
def reg(registry):
    registry.register(Plugins(), name="test-measures")
    return registry


def run(reg, tmp_path: Path, notes: list[str] | None = None, **changes) -> tuple[dict, list[dict]]:
    out = tmp_path / "run"
    sink = notes if notes is not None else []
    summary = Experiment(resolve({**SMALL, **changes}, reg), reg, RunDir(out), notify=sink.append).run()
    return summary, [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def test_an_inline_measure_adds_its_values_to_every_record_and_the_summary(reg, tmp_path):
    summary, records = run(reg, tmp_path, measures=[*DEFAULT_MEASURES, "tokens-taught"])
    for record in records:
        tokens = record["per_student"]["tokens"]
        assert len(tokens) == 2 and all(t > 0 for t in tokens)
        assert record["tokens_mean"] == statistics.fmean(tokens)
        assert record["tokens_sent"] == sum(tokens)  # the core's own count agrees
        assert "fraction_exam_domain" in record and set(record["overlap"]) == {"unigram", "bigram", "trigram"}
    assert summary["tokens_mean_first"] == records[0]["tokens_mean"]
    assert summary["tokens_mean_last"] == statistics.fmean(r["tokens_mean"] for r in records)


def test_a_run_that_measures_nothing_works_and_its_report_shows_dashes(reg, tmp_path, cli):
    summary, records = run(reg, tmp_path, measures=[])
    for record in records:
        assert "fraction_exam_domain" not in record and "overlap" not in record
        assert not any(k.startswith(("fraction_exam_domain", "overlap_")) for k in record["per_student"])
    assert "fraction_exam_domain_last" not in summary and summary["episodes"] == 2
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["measures"] == []
    code, out, err = cli("report", str(tmp_path / "run"), "--out", str(tmp_path / "report"))
    assert code == 0, err
    row = json.loads((tmp_path / "report" / "report.json").read_text())["settings"][0]
    assert row["per_seed"][0]["fraction"] is None
    assert not (tmp_path / "report" / "overlaps.png").exists() and (tmp_path / "report" / "figure2.png").exists()
    table_row = next(line for line in out.splitlines() if "│" in line and "random" in line)
    assert table_row.split("│")[3].strip() == "-"  # the fraction column


def test_the_default_measures_are_not_written_into_the_config(reg, tmp_path):
    run(reg, tmp_path)
    assert "measures" not in json.loads((tmp_path / "run" / "config.json").read_text())


def test_an_unknown_measure_is_a_config_error_with_did_you_mean(reg, cli, tmp_path):
    with pytest.raises(UnknownPluginError, match=r"unknown measure 'exam-domian'\. Did you mean 'exam-domain'"):
        resolve({**SMALL, "measures": ["exam-domian"]}, reg)
    code, _, err = cli("run", "--set", 'measures=["ngram-overlapp"]', "--out", str(tmp_path / "x"), "--quiet")
    assert code == 2 and "Did you mean 'ngram-overlap'" in err and "Traceback" not in err
    with pytest.raises(ConfigError, match="names measure 'exam-domain' twice"):
        resolve({**SMALL, "measures": ["exam-domain", "exam-domain"]}, reg)


def test_a_measure_that_raises_is_named_with_its_stage(reg, tmp_path):
    with pytest.raises(PluginError, match=r"measure plugin 'raises' raised in measure\(\): ZeroDivisionError") as info:
        run(reg, tmp_path, measures=["raises"])
    assert (info.value.plugin, info.value.stage) == ("raises", "measure")


def test_a_measure_may_not_overwrite_what_the_core_writes(reg, tmp_path):
    with pytest.raises(PluginError, match="measure plugin 'clashes' returned per-student values under 'perplexity'"):
        run(reg, tmp_path, measures=["clashes"])


UNLABELLED = {"name": "unlabelled", "params": SMALL["environment"]["params"]}


def test_an_environment_without_labels_runs_the_default_measures_with_a_note(reg, tmp_path):
    notes: list[str] = []
    summary, records = run(reg, tmp_path, notes, environment=UNLABELLED)
    assert any("'unlabelled' does not label its pool" in n and "exam-domain measure" in n for n in notes)
    assert all("fraction_exam_domain" not in r and "overlap" in r for r in records)
    assert "fraction_exam_domain_last" not in summary


@pytest.mark.parametrize(
    ("changes", "needed_by"),
    [
        ({"teacher": "oracle"}, "teacher 'oracle' (a privileged reference)"),
        (
            {
                "student_lifetime": "run",
                "population": [{"name": "knows", "count": 2, "prior": "exam-domain", "prior_sentences": 2}],
            },
            "population[0] ('knows', prior = 'exam-domain')",
        ),
    ],
)
def test_what_needs_the_labels_stops_before_the_run_directory_is_made(reg, tmp_path, changes, needed_by):
    out = tmp_path / "run"
    config = resolve({**SMALL, **changes, "environment": UNLABELLED}, reg)
    with pytest.raises(ConfigError) as info:
        Experiment(config, reg, RunDir(out)).run()
    message = str(info.value)
    assert message.startswith(f"{needed_by} needs to know which pool sentences are in the exam's domain")
    assert "environment 'unlabelled'" in message and "\n" not in message
    assert not out.exists()


def test_inspect_of_a_run_without_labels_shows_the_ranking_and_says_why_no_domain(reg, tmp_path, cli):
    from ilm_core.registry import default_registry

    run(reg, tmp_path, teacher="value-bandit", environment=UNLABELLED)
    plugins = Plugins()
    default_registry().register(plugins, name="test-measures-cli")
    try:
        code, out, err = cli("inspect", str(tmp_path / "run"), "--top", "3", "--json", str(tmp_path / "ranking.json"))
    finally:
        default_registry().unregister(plugins)
    assert code == 0, err
    assert "environment 'unlabelled' does not label its pool by the exam's domain" in " ".join(out.split())
    saved = json.loads((tmp_path / "ranking.json").read_text())
    assert saved["exam_domain_in_top_budget"] is None
    assert len(saved["ranking"]) == 20 and all(row["exam_domain"] is None for row in saved["ranking"])


@pytest.mark.parametrize("measures", [list(DEFAULT_MEASURES), []])
def test_round_values_of_a_measure_go_to_the_round_entries(reg, tmp_path, measures):
    interaction = {"name": "send-in-batches", "params": {"rounds": 3}}
    _, records = run(reg, tmp_path, interaction=interaction, measures=measures)
    for record in records:
        assert [r["size"] for r in record["rounds"]] == [1, 1, 1]
        if measures:  # rounds of one sentence each: their mean is the episode's fraction
            by_round = [r["fraction_exam_domain"] for r in record["rounds"]]
            assert statistics.fmean(by_round) == pytest.approx(record["fraction_exam_domain"])
        else:
            assert not any("fraction_exam_domain" in r for r in record["rounds"])


def test_round_values_of_a_measure_must_number_the_rounds_of_the_episode():
    from ilm_core.measures import Measured, merge

    merge(Measured(), "per-round", MeasureResult(rounds=[{"x": 1.0}, {"x": 2.0}]), n_students=1, rounds=2)
    for given in (1, 3):  # too few, or too many
        with pytest.raises(PluginError, match=f"values for {given} rounds in an episode of 2; give one entry per"):
            merge(Measured(), "per-round", MeasureResult(rounds=[{"x": 1.0}] * given), n_students=1, rounds=2)
