"""General scores: an exam that reports accuracy only (no perplexity) runs end to end with a learning
teacher, its records and summary name what they hold, and the direction of a score decides the reward.

The test plugin below is registered through the registry as an installed plugin would be: an exam
`pair-accuracy` (BLiMP's minimal pairs, accuracy only), an exam `pair-errors` (the share of pairs
wrong, a score the core does not know, declared lower-is-better), and a student `skill-by-domain`
whose accuracy grows with the share of exam-domain tokens it was taught (no training: the direction
check runs many episodes in seconds).
"""

from __future__ import annotations

import json
import math
import pickle
import random
import statistics
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from conftest import TINY_DOMAINS, small_run, tiny_student
from pydantic import BaseModel, ConfigDict

from ilm_core import (
    Direction,
    EnvironmentData,
    Exam,
    ExamResult,
    ExamSpec,
    ExecutorSpec,
    Feedback,
    Lesson,
    PluginError,
    PluginSpec,
    Student,
    StudentReport,
    StudentSpec,
    TrainedStudents,
    TrainingJob,
    hookimpl,
)
from ilm_core.config import resolve
from ilm_core.divergence import apply_divergence_policy
from ilm_core.loop import Experiment
from ilm_core.rundir import RunDir
from ilm_devkit.testing import plugin_registry
from ilm_plugins.exams import MinimalPairsParams
from ilm_plugins.exams.minimal_pairs import MinimalPairsExam
from ilm_plugins.exams.scoring import PAIR, score_pairs
from ilm_plugins.executors.local import SequentialExecutor

#: the domains language's exam domain (V1) is written with tokens 0..9; the other domains with 10..19
DOMAIN_TOKENS = 10

Sentence = list[int]


class PairParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PairAccuracy(Exam):
    """Minimal pairs as the feedback exam, scored by accuracy only: no perplexity, nll or tokens."""

    score_name = "accuracy"

    def __init__(self, params: PairParams):
        self.pairs = MinimalPairsExam(MinimalPairsParams(feedback="bank", pairs_per_exam=None, heldout=True))

    def attach(self, data: EnvironmentData) -> None:
        self.pairs.attach(data)

    def feedback_items(self, exam: list[Sentence], bank: list[Sentence], episode: int, seed: int) -> list[Sentence]:
        return self.pairs.feedback_items(exam, bank, episode, seed)

    def labels(self, items: list[Sentence]) -> list[str] | None:
        return self.pairs.labels(items)

    def evaluations(self, episode: int, seed: int) -> dict[str, tuple[list[Sentence], list[str] | None]]:
        return self.pairs.evaluations(episode, seed)

    def value(self, accuracy: float) -> float:
        return accuracy

    def score(
        self, students: TrainedStudents, sentences: list[Sentence], labels: list[str] | None = None
    ) -> list[ExamResult]:
        if not labels or not labels[0].startswith(PAIR):
            raise AssertionError("this exam scores minimal pairs only (the test runs have no held-out sentences)")
        results = score_pairs(students, sentences, [label[len(PAIR) :] for label in labels[::2]])
        return [
            ExamResult(scores={self.score_name: self.value(r.accuracy or 0.0)}, components=r.components)
            for r in results
        ]


class PairErrors(PairAccuracy):
    """The share of pairs the student gets wrong: a score the core does not know, lower is better."""

    score_name = "pair_errors"

    def value(self, accuracy: float) -> float:
        return 1.0 - accuracy


class PairReport(PairAccuracy):
    """Accuracy (the headline), then three scores the core does not know: the share of pairs wrong, the
    number wrong (a name that sorts after "perplexity") and the pairs left unanswered (always none here;
    a name that sorts before "accuracy")."""

    def score(
        self, students: TrainedStudents, sentences: list[Sentence], labels: list[str] | None = None
    ) -> list[ExamResult]:
        pairs = len(sentences) // 2
        results = []
        for r in super().score(students, sentences, labels):
            wrong = 1.0 - r.scores["accuracy"]
            scores = {
                "accuracy": r.scores["accuracy"],
                "pair_errors": wrong,
                "wrong_pairs": wrong * pairs,
                "abstentions": 0.0,
            }
            results.append(ExamResult(scores=scores, components=r.components))
        return results


class Pickling(SequentialExecutor):
    """The sequential executor, its reports pickled and validated again: what the multiprocess and Ray
    executors return, reports that crossed a process boundary as model dumps."""

    def run(self, job: TrainingJob) -> list[StudentReport]:
        return [StudentReport.model_validate(pickle.loads(pickle.dumps(r.model_dump()))) for r in super().run(job)]


def _jitter(sentence: Sequence[int]) -> float:
    return random.Random(" ".join(map(str, sentence))).random()


class SkilledStudents(TrainedStudents):
    """Students whose skill is the share of exam-domain tokens they were taught: a pair is right when
    the good sentence costs less, which gets likelier as the skill grows (a fixed jitter per sentence)."""

    def __init__(self, skills: list[float]):
        self.skills = skills

    @property
    def final_losses(self) -> list[float]:
        return [1.0 for _ in self.skills]

    def sentence_nll(self, sentences: Sequence[Sentence]) -> tuple[list[list[float]], list[int]]:
        rows = [
            [sum(1.0 - s if t < DOMAIN_TOKENS else s for t in sentence) + _jitter(sentence) for sentence in sentences]
            for s in self.skills
        ]
        return rows, [len(sentence) + 1 for sentence in sentences]


class SkillByDomain(Student):
    def __init__(self, params: PairParams):
        pass

    def train(self, lessons: list[list[Sentence]], seeds: list[int], vocab_size: int, device: str) -> TrainedStudents:
        skills = []
        for lesson in lessons:
            tokens = [t for sentence in lesson for t in sentence]
            skills.append(sum(t < DOMAIN_TOKENS for t in tokens) / max(len(tokens), 1))
        return SkilledStudents(skills)


class ScoresPlugin:
    @staticmethod
    @hookimpl
    def ilm_exams() -> Iterator[PluginSpec]:
        yield ExamSpec(name="pair-accuracy", summary="test: accuracy only", factory=PairAccuracy, params=PairParams)
        yield ExamSpec(
            name="pair-errors",
            summary="test: pairs wrong, lower is better",
            factory=PairErrors,
            params=PairParams,
            scores={"pair_errors": Direction.LOWER},
        )
        yield ExamSpec(name="pair-undeclared", summary="test: a score without direction", factory=PairErrors)
        yield ExamSpec(
            name="pair-report",
            summary="test: accuracy and two scores of its own",
            factory=PairReport,
            params=PairParams,
            scores={"pair_errors": Direction.LOWER, "wrong_pairs": Direction.LOWER, "abstentions": Direction.LOWER},
        )

    @staticmethod
    @hookimpl
    def ilm_executors() -> Iterator[PluginSpec]:
        yield ExecutorSpec(name="pickling", summary="test: reports pickled", factory=lambda params: Pickling())

    @staticmethod
    @hookimpl
    def ilm_students() -> Iterator[PluginSpec]:
        yield StudentSpec(name="skill-by-domain", summary="test: skill = share of domain tokens", factory=SkillByDomain)


#: the tiny domains language without a held-out sentence exam (an accuracy exam has none to score)
NO_HELDOUT = {"name": "domains", "params": {**TINY_DOMAINS["params"], "heldout_size": 0}}
#: the default learning teacher, its LM made tiny
SELECT_BIN = {"name": "select-bin", "params": {"lm_updates": 5, "lm_dim": 16}}


def run(out: Path, **changes: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    registry = plugin_registry(ScoresPlugin, installed=True)
    raw = small_run(**{"environment": NO_HELDOUT, "exam": {"name": "pair-accuracy"}, "teacher": SELECT_BIN, **changes})
    summary = Experiment(resolve(raw, registry), registry, RunDir(out)).run()
    return RunDir(out).read_metrics(), summary


# -- the contracts --------------------------------------------------------------------------------


def test_an_exam_result_needs_a_score_and_fills_scores_from_its_perplexity() -> None:
    with pytest.raises(ValueError, match="at least one score"):
        ExamResult()
    result = ExamResult(perplexity=12.0, item_perplexities=[12.0], nll=2.0, tokens=3, accuracy=0.5)
    assert result.scores == {"perplexity": 12.0, "accuracy": 0.5} and result.headline == "perplexity"
    only = ExamResult(scores={"accuracy": 0.75})
    assert only.accuracy == 0.75 and only.perplexity is None and only.item_perplexities is None
    assert "perplexity" not in only.model_dump()
    with pytest.raises(ValueError, match="give one value"):
        ExamResult(scores={"perplexity": 3.0}, perplexity=4.0)


def test_feedback_reward_follows_the_headline_score_and_its_direction() -> None:
    lesson = Lesson(student=0, indices=[0])
    by_perplexity = Feedback(student=0, lesson=lesson, perplexity=20.0, accuracy=0.9)
    assert by_perplexity.reward == pytest.approx(-math.log(20.0))  # what the teachers optimised before
    by_accuracy = Feedback(student=0, lesson=lesson, scores={"accuracy": 0.9})
    assert by_accuracy.reward == pytest.approx(0.9) and by_accuracy.perplexity is None
    assert Feedback(student=0, lesson=lesson, scores={"accuracy": 0.2}).reward < by_accuracy.reward
    unknown = Feedback(student=0, lesson=lesson, scores={"pair_errors": 0.1})
    assert unknown.reward is None  # its direction comes from the exam: the loop sets it
    for bad in ({"accuracy": math.nan}, {"perplexity": -1.0}):
        with pytest.raises(ValueError):
            Feedback(student=0, lesson=lesson, scores=bad)
    with pytest.raises(ValueError, match="at least one score"):
        Feedback(student=0, lesson=lesson)


def test_a_plugin_that_reads_feedback_perplexity_keeps_working_on_a_perplexity_exam(tmp_path: Path) -> None:
    """Plugin API 3 teachers read `Feedback.perplexity`: it is still there whenever the exam has a perplexity."""
    seen: list[float | None] = []

    from ilm_core import Teacher, TeacherSpec, TeacherUpdate

    class ReadsPerplexity(Teacher):
        def select(self, context: Any) -> list[Lesson]:
            return [Lesson(student=i, indices=list(range(context.size))) for i in range(context.n_students)]

        def learn(self, feedback: list[Feedback]) -> TeacherUpdate:
            seen.extend(f.perplexity for f in feedback)
            return TeacherUpdate()

    class Plugin:
        @staticmethod
        @hookimpl
        def ilm_teachers() -> Iterator[PluginSpec]:
            yield TeacherSpec(name="reads-perplexity", summary="test", factory=lambda params: ReadsPerplexity())

    registry = plugin_registry(Plugin, installed=True)
    raw = small_run(teacher={"name": "reads-perplexity"}, episodes=1)
    Experiment(resolve(raw, registry), registry, RunDir(tmp_path / "run")).run()
    assert len(seen) == 2 and all(p is not None and p > 1 for p in seen)


def test_what_a_student_is_told_carries_its_scores_and_their_reward() -> None:
    from ilm_core import StudentFeedback

    told = StudentFeedback(perplexity=20.0)
    assert told.scores == {"perplexity": 20.0} and told.reward == pytest.approx(-math.log(20.0))
    assert StudentFeedback(scores={"accuracy": 0.7}).reward == pytest.approx(0.7)
    assert StudentFeedback().reward is None and "scores" not in StudentFeedback().model_dump()


def test_rounds_of_an_accuracy_exam_record_its_accuracy_and_the_teachers_reward(tmp_path: Path) -> None:
    records, _ = run(
        tmp_path / "run",
        interaction={"name": "mid-term-exams", "params": {"rounds": 2, "reward": "all"}},
        budget=4,
    )
    for record in records:
        assert [r["round"] for r in record["rounds"]] == [0, 1]
        for entry in record["rounds"]:
            assert "perplexity_mean" not in entry and 0 <= entry["accuracy_mean"] <= 1
            assert entry["feedback_mean"] == pytest.approx(entry["accuracy_mean"])
            assert entry["teacher_reward_mean"] == pytest.approx(entry["accuracy_mean"])


# -- an accuracy-only exam, end to end ------------------------------------------------------------


def test_an_accuracy_only_exam_runs_end_to_end_with_a_learning_teacher(tmp_path: Path) -> None:
    records, summary = run(tmp_path / "run", episodes=3, n_students=3, student=tiny_student(3))
    assert len(records) == 3
    for record in records:
        for key in ("perplexity_mean", "perplexity_std", "reward_mean", "reward_std", "heldout_perplexity_mean"):
            assert record.get(key) is None, key
        assert "perplexity" not in record["per_student"]
        assert 0.0 <= record["accuracy_mean"] <= 1.0 and record["accuracy_std"] >= 0.0
        assert len(record["per_student"]["accuracy"]) == 3
        # the reward the teacher optimised, named as such: the accuracy itself (higher is better)
        assert math.isfinite(record["teacher_reward_mean"]) and math.isfinite(record["teacher_reward_std"])
        assert record["teacher_reward_mean"] == pytest.approx(record["accuracy_mean"])
        # select-bin's own report of the reward it learned from: the students' accuracy
        assert record["teacher"]["reward_mean"] == pytest.approx(record["accuracy_mean"], rel=1e-6)
        assert record["components"]  # the accuracy per phenomenon
    assert summary["perplexity_last"] is None and summary["reward_last"] is None
    assert summary["accuracy_last"] == pytest.approx(statistics.fmean(r["accuracy_mean"] for r in records))
    assert summary["teacher_reward_last"] == pytest.approx(statistics.fmean(r["teacher_reward_mean"] for r in records))
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["accuracy_last"] == summary["accuracy_last"]


def test_ilm_run_with_an_accuracy_only_exam(cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("ilm_core.cli.run_cmd.default_registry", lambda: plugin_registry(ScoresPlugin, installed=True))
    out = tmp_path / "run"
    code, stdout, err = cli(
        "run", "--teacher", "select-bin", "--env", "domains", "--exam", "pair-accuracy",
        "--episodes", "2", "--students", "2", "--budget", "3",
        "--set", "student.updates=2", "--set", "student.dim=16", "--set", "student.ffn=32",
        "--set", "environment.pool_size=20", "--set", "environment.teacher_corpus_size=10",
        "--set", "environment.exam_bank_size=20", "--set", "environment.heldout_size=0",
        "--set", "teacher.lm_updates=5", "--set", "teacher.lm_dim=16", "--set", "checkpoint_every=1",
        "--out", str(out),
    )  # fmt: skip
    assert code == 0, err
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["episode"] for r in records] == [0, 1]
    assert all("perplexity_mean" not in r and 0 <= r["accuracy_mean"] <= 1 for r in records)
    assert all(math.isfinite(r["teacher_reward_mean"]) for r in records)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["perplexity_last"] is None and summary["accuracy_last"] is not None
    assert "feedback-exam accuracy" in " ".join((stdout + err).split())
    # and it resumes: a finished run is found complete, and one cut after its first episode goes on to the
    # same records (select-bin's policy and the RNG restored from the checkpoint)
    code, stdout, err = cli("run", "--resume", str(out))
    assert code == 0 and "already complete" in stdout + err, err
    lines = (out / "metrics.jsonl").read_text().splitlines()
    (out / "metrics.jsonl").write_text(lines[0] + "\n")
    (out / "checkpoints" / "episode-000002.pt").unlink()
    (out / "summary.json").unlink()
    code, stdout, err = cli("run", "--resume", str(out))
    assert code == 0, err
    again = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [{k: v for k, v in r.items() if k != "seconds"} for r in again] == [
        {k: v for k, v in r.items() if k != "seconds"} for r in records
    ]


# -- the direction decides the reward ------------------------------------------------------------


def domain_fraction(records: list[dict[str, Any]], last: int) -> float:
    return statistics.fmean(r["fraction_exam_domain"] for r in records[-last:])


@pytest.mark.parametrize("exam", ["pair-accuracy", "pair-errors"])
@pytest.mark.parametrize("teacher", [SELECT_BIN, {"name": "value-bandit", "params": {"exploration": 0.3}}])
def test_the_teacher_moves_toward_the_lessons_that_improve_the_score_in_its_direction(
    exam: str, teacher: dict[str, Any], tmp_path: Path
) -> None:
    """The skilled students get more pairs right the more exam-domain tokens they were taught. A
    teacher rewarded by their accuracy (higher is better, known to the core) or by their share of
    pairs wrong (declared lower is better by the exam) must come to send exam-domain sentences;
    were the direction flipped, it would learn to avoid them (the random start is about a half)."""
    records, _ = run(
        tmp_path / "run",
        exam={"name": exam},
        student={"name": "skill-by-domain"},
        teacher=teacher,
        episodes=12,
        n_students=6,
        budget=4,
    )
    key = "accuracy" if exam == "pair-accuracy" else "pair_errors"
    first, last = domain_fraction(records[:3], 3), domain_fraction(records, 3)
    assert last > 0.8 and last > first, (first, last, key)
    if exam == "pair-errors":  # a declared score: in the record under its own name, the reward minus it
        assert all("accuracy_mean" not in r for r in records)
        assert records[-1]["scores"]["pair_errors_mean"] == pytest.approx(-records[-1]["teacher_reward_mean"])


@pytest.mark.parametrize("executor", ["sequential", "pickling"])
def test_every_other_score_of_the_exam_is_in_the_record_and_accuracy_under_its_own_key(
    executor: str, tmp_path: Path
) -> None:
    """The feedback exam's scores beyond perplexity and accuracy reach the record as `<name>_mean`/`_std`
    and per student, whatever their names; accuracy has its own keys (`accuracy_mean`) and is not repeated
    in `scores`, also when the reports came back from another process (as the multiprocess and Ray
    executors return them), so a run's records do not depend on its executor."""
    records, _ = run(
        tmp_path / "run",
        exam={"name": "pair-report"},
        student={"name": "skill-by-domain"},
        teacher={"name": "random"},
        executor={"name": executor},
        episodes=1,
    )
    [record] = records
    assert set(record["scores"]) == {
        f"{name}_{stat}" for name in ("pair_errors", "wrong_pairs", "abstentions") for stat in ("mean", "std")
    }
    assert record["scores"]["pair_errors_mean"] == pytest.approx(1.0 - record["accuracy_mean"])
    assert len(record["per_student"]["wrong_pairs"]) == len(record["per_student"]["accuracy"]) == 2


def test_a_score_whose_direction_nobody_declared_is_refused_naming_the_exam(tmp_path: Path) -> None:
    with pytest.raises(PluginError, match=r"pair_errors.*direction is unknown.*pair-undeclared"):
        run(tmp_path / "run", exam={"name": "pair-undeclared"}, student={"name": "skill-by-domain"}, episodes=1)


def _student(i: int, accuracy: float, diverged: bool = False, nll: float | None = None) -> Any:
    """A StudentReport of one feedback exam that gives accuracy (and an nll when given)."""
    from ilm_core import StudentReport

    exams = {"feedback": ExamResult(scores={"accuracy": accuracy}, nll=nll)}
    return StudentReport(student=i, seed=i, final_loss=math.nan if diverged else 1.0, diverged=diverged, exams=exams)


def _divergence_policy(reports: list[Any]) -> list[Any]:
    """The reports after the core's on_diverged policy, in a run of the accuracy exam."""
    registry = plugin_registry(ScoresPlugin, installed=True)
    raw = small_run(environment=NO_HELDOUT, exam={"name": "pair-accuracy"}, n_students=3, teacher={"name": "random"})
    experiment = Experiment(resolve(raw, registry), registry, notify=lambda message: None)
    experiment._build()
    try:
        return apply_divergence_policy(reports, 0, experiment.config, experiment.rewards.direction, lambda m: None)
    finally:
        experiment.close()


def test_a_diverged_student_gets_the_episodes_worst_accuracy() -> None:
    fixed = _divergence_policy([_student(0, 0.7), _student(1, math.nan, True), _student(2, 0.4)])
    assert [r.exams["feedback"].scores["accuracy"] for r in fixed] == [0.7, 0.4, 0.4]
    assert fixed[1].exams["feedback"].accuracy == 0.4


def test_a_diverged_student_keeps_no_summed_nll_of_its_own() -> None:
    """Its scores become the episode's worst; its nll (a sum the worst score did not come from) becomes NaN,
    and a result without an nll stays without one."""
    fixed = _divergence_policy([_student(0, 0.7, nll=3.0), _student(1, 0.9, True, nll=2.0), _student(2, 0.4, True)])
    assert fixed[0].exams["feedback"].nll == 3.0
    assert math.isnan(fixed[1].exams["feedback"].nll)
    assert fixed[2].exams["feedback"].nll is None
    assert [r.exams["feedback"].scores["accuracy"] for r in fixed] == [0.7, 0.7, 0.7]


# -- reports ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("exam", ["pair-accuracy", "pair-errors"])
def test_ilm_report_shows_a_run_without_perplexity(exam: str, cli: Any, tmp_path: Path) -> None:
    """Tables and figures of a run whose exam has no perplexity: its headline score instead."""
    from ilm_report.baselines_cmd import baseline_row
    from ilm_report.figures import headline
    from ilm_report.runs import group_settings, load_run

    run(tmp_path / "run", exam={"name": exam}, student={"name": "skill-by-domain"}, episodes=2)
    code, stdout, err = cli("report", str(tmp_path / "run"), "--out", str(tmp_path / "report"))
    assert code == 0, err
    names = {p.name for p in (tmp_path / "report").iterdir()}
    assert {"figure2.png", "exams.png", "teacher.png", "report.json"} <= names
    [row] = json.loads((tmp_path / "report" / "report.json").read_text())["settings"]
    settings = group_settings([load_run(tmp_path / "run")])
    assert baseline_row(tmp_path / "run")["runs"] == 2  # the students of a run, without a perplexity to count
    if exam == "pair-accuracy":
        assert "feedback accuracy" in stdout and 0 <= row["accuracy"][0] <= 1
        assert headline(settings) == ("accuracy_mean", "accuracy", "accuracy")
    else:
        assert "accuracy" not in row and headline(settings)[0] == ("scores", "pair_errors_mean")
