"""Labels only for reference teachers: an ordinary teacher never sees the pool's exam-domain
labels; a reference declares its role (and "privileged" to get the labels), and `ilm baselines`
and `ilm report` find references by that role. Oracle and worst case reproduce their figures."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from conftest import TINY_ANY_TEACHER, small_run
from pydantic import ValidationError

from ilm_core import LabelAccessError, TeacherContext, TeacherSpec, hookimpl
from ilm_core.config import resolve
from ilm_core.errors import ConfigError
from ilm_core.loop import Experiment
from ilm_core.rundir import RunDir
from ilm_plugins.environments import DomainsParams
from ilm_plugins.environments.languages import DomainsEnvironment
from ilm_plugins.teachers.baselines import OracleTeacher, RandomTeacher
from ilm_report.baselines_cmd import reference_teachers

DATA = Path(__file__).parent / "data" / "baselines-before"
SMALL = small_run(episodes=1)


class LabelReadingTeacher(RandomTeacher):
    """A learner that tries to cheat by reading which pool sentences are in the exam's domain."""

    def setup(self, context):
        super().setup(context)
        self.candidates = [i for i, inside in enumerate(context.pool_in_exam_domain) if inside]


class Plugins:
    @hookimpl
    def ilm_teachers(self):
        yield TeacherSpec(name="label-reader", summary="reads the labels", factory=LabelReadingTeacher)
        yield TeacherSpec(
            name="my-oracle",
            summary="a declared privileged reference",
            factory=OracleTeacher,
            role="reference",
            rank="best",
            capabilities=frozenset({"privileged"}),
        )


def test_an_ordinary_teacher_context_has_no_labels():
    data = DomainsEnvironment(DomainsParams(pool_size=20, teacher_corpus_size=10)).build(1)
    context = TeacherContext.of(data, budget=3, n_students=2, seed=0)
    assert not context.privileged
    with pytest.raises(LabelAccessError, match=r"pool_in_exam_domain.*'privileged'"):
        _ = context.pool_in_exam_domain
    privileged = TeacherContext.of(data, budget=3, n_students=2, seed=0, privileged=True)
    assert privileged.privileged and privileged.pool_in_exam_domain == data.pool_in_exam_domain


def test_a_learner_that_reads_the_labels_is_stopped_and_named(registry, tmp_path):
    registry.register(Plugins(), name="reference-test")
    cfg = resolve({**SMALL, "teacher": "label-reader"}, registry)
    with pytest.raises(LabelAccessError, match=r"teacher plugin 'label-reader' in setup\(\): .*pool_in_exam_domain"):
        Experiment(cfg, registry, RunDir(tmp_path / "r")).run()


def test_a_declared_privileged_reference_gets_the_labels_and_is_marked(registry, tmp_path):
    registry.register(Plugins(), name="reference-test")
    summary = Experiment(resolve({**SMALL, "teacher": "my-oracle"}, registry), registry, RunDir(tmp_path / "o")).run()
    assert summary["fraction_exam_domain_last"] == 1.0  # computed by the core from the labels
    assert (summary["teacher_role"], summary["reference_rank"], summary["privileged"]) == ("reference", "best", True)
    on_disk = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert on_disk["privileged"] is True
    learner = Experiment(resolve({**SMALL, "teacher": "value-bandit"}, registry), registry, RunDir(tmp_path / "l"))
    assert learner.run()["teacher_role"] == "learner"


def test_only_a_reference_may_be_privileged_or_ranked():
    with pytest.raises(ValidationError, match="only role='reference'"):
        TeacherSpec(name="sneaky", summary="x", factory=RandomTeacher, capabilities=frozenset({"privileged"}))
    with pytest.raises(ValidationError, match="only role='reference'"):
        TeacherSpec(name="sneaky", summary="x", factory=RandomTeacher, rank="best")


def test_baselines_find_references_by_role_not_name(registry):
    assert reference_teachers(registry) == ["random", "oracle", "worst-case"]
    registry.register(Plugins(), name="reference-test")
    with pytest.raises(ConfigError, match=r"rank 'best'.*2 \((my-oracle, oracle|oracle, my-oracle)\)"):
        reference_teachers(registry)


@pytest.mark.slow
def test_report_marks_privileged_references(cli, tmp_path):
    for teacher in ("oracle", "random"):
        out = str(tmp_path / "runs" / teacher)
        code, _, err = cli("run", *TINY_ANY_TEACHER, "--teacher", teacher, "--seed", "1", "--out", out)
        assert code == 0, err
    code, stdout, err = cli("report", str(tmp_path / "runs"), "--out", str(tmp_path / "report"))
    assert code == 0, err
    assert "privileged references" in stdout and "oracle" in stdout
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["privileged_references"] == ["oracle"]
    assert {r["teacher"]: r["privileged"] for r in report["settings"]} == {"oracle": True, "random": False}


@pytest.mark.slow
@pytest.mark.parametrize(("env", "seeds"), [("domains", "6639,1007"), ("structures", "4527")])
def test_oracle_and_worst_case_reproduce_the_figures_from_before_the_labels_moved(cli, tmp_path, env, seeds):
    """The Markdown and CSV tables were written by `ilm baselines` before teachers lost the labels,
    with the configs kept beside them (the baseline configs of that time)."""
    out = tmp_path / env
    code, stdout, err = cli(
        "baselines", "--env", env, "--config", str(DATA / f"{env}.toml"), "--seeds", seeds, "--runs", "2",
        "--out", str(out),
    )  # fmt: skip
    assert code == 0, err
    got, want = _rows(out / "baselines.csv"), _rows(DATA / f"{env}.csv")
    assert [r.keys() for r in got] == [r.keys() for r in want]
    for new, old in zip(got, want, strict=True):
        # what the lessons decide (teacher, seed, fractions, overlaps) exactly; the students' perplexities
        # at these configs' lr 3e-2 train chaotically, so last-digit differences between CPUs grow into
        # whole percents: they are not compared
        for key, value in old.items():
            if "perplexity" not in key:
                assert new[key] == value, (old["baseline"], key)
    assert "privileged references (read the pool's exam-domain labels): oracle, worst-case" in stdout


def _rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.read_text().splitlines()))
