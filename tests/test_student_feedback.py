"""Students that take part: feedback that reaches the student (and the switch that withholds it),
the environment's answer to a student's sentences, and a student that learns whom to trust."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, ClassVar

import pytest
import torch
from conftest import small_run, tiny_student

from ilm_core import ConfigError, Judgement, StudentFeedback, StudentSpec, hookimpl
from ilm_core.config import resolve
from ilm_core.loop import Experiment
from ilm_core.registry import Registry
from ilm_core.rundir import RunDir
from ilm_plugins.environments import StructuresParams
from ilm_plugins.environments.languages import StructuresEnvironment
from ilm_plugins.students import NATIVE, SelectUsefulParams, TransformerLMParams, TrustTeachersParams
from ilm_plugins.students.listening import TrustingStudents
from ilm_plugins.students.transformer_lm import StackedStudents, TransformerLMStudent
from ilm_plugins.teachers import TakeTurnsParams
from ilm_plugins.torchlm.model import LMSize, StackedTransformerLM
from ilm_plugins.torchlm.train import TrainRecipe, unlikelihood_loss

TINY_STRUCTURES: dict[str, Any] = {
    "name": "structures",
    "params": {"pool_size": 20, "teacher_corpus_size": 10, "exam_bank_size": 20, "heldout_size": 5},
}
ANSWERS = {"name": "answer-students", "params": {"rounds": 2, "samples": 3}}


class RecordingGroup(StackedStudents):
    """The native students, recording what they are told before each training."""

    told: ClassVar[list[tuple[list[StudentFeedback | None], list[str | None]]]] = []

    def receive(self, feedback: list[StudentFeedback | None], teachers: list[str | None]) -> None:
        RecordingGroup.told.append((list(feedback), list(teachers)))


class RecordingStudent(TransformerLMStudent):
    def create(self, seeds: list[int], vocab_size: int, device: str) -> StackedStudents:
        return RecordingGroup(
            self.model(seeds, vocab_size, device), self.recipe, seeds=list(seeds), vocab_size=vocab_size, device=device
        )


class RecordingPlugin:
    @hookimpl
    def ilm_students(self):
        yield StudentSpec(
            name="recording",
            summary="records what it is told",
            factory=RecordingStudent,
            params=TransformerLMParams,
            capabilities=NATIVE | {"experiment", "uses-feedback"},
        )


def recording(**params: Any) -> dict[str, Any]:
    return {"name": "recording", "params": {**tiny_student()["params"], **params}}


@pytest.mark.parametrize("switch", ["given", "withheld"])
def test_feedback_reaches_the_student_and_the_switch_removes_it(
    registry: Registry, tmp_path: Path, switch: str
) -> None:
    registry.pm.register(RecordingPlugin())
    RecordingGroup.told = []
    raw = small_run(
        student=recording(), environment=TINY_STRUCTURES, interaction=ANSWERS, student_feedback=switch, episodes=1
    )
    Experiment(resolve(raw, registry), registry, RunDir(tmp_path / "run")).run()
    if switch == "withheld":
        assert RecordingGroup.told == []  # nothing reached the student
    else:
        [(feedback, teachers)] = RecordingGroup.told  # told once: before the second round's training
        assert teachers == [] and len(feedback) == 2
        for told in feedback:
            assert told is not None and told.round == 0 and len(told.samples) == 3
            assert told.perplexity is not None and len(told.item_perplexities or []) > 0
            assert told.judgements is not None and len(told.judgements) == 3
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved.get("student_feedback", "given") == switch


def test_unanswered_experiments_come_back_without_an_answer(registry: Registry, tmp_path: Path) -> None:
    registry.pm.register(RecordingPlugin())
    RecordingGroup.told = []
    unanswered = {"name": "answer-students", "params": {"rounds": 2, "samples": 3, "answer": "none"}}
    raw = small_run(student=recording(), environment=TINY_STRUCTURES, interaction=unanswered, episodes=1)
    Experiment(resolve(raw, registry), registry, RunDir(tmp_path / "run")).run()
    [(feedback, _)] = RecordingGroup.told
    assert all(t is not None and t.samples and t.judgements is None and t.sample_scores is None for t in feedback)


def test_students_kept_for_the_run_hear_the_judge_in_the_next_episode(registry: Registry, tmp_path: Path) -> None:
    registry.pm.register(RecordingPlugin())
    RecordingGroup.told = []
    ask = {"name": "ask-for-feedback", "params": {"samples": 2, "judge_updates": 2, "judge_dim": 16}}
    raw = small_run(student=recording(), interaction=ask, student_lifetime="run", episodes=2)
    Experiment(resolve(raw, registry), registry, RunDir(tmp_path / "run")).run()
    [(feedback, _)] = RecordingGroup.told  # the second episode's lesson comes with the first's judgement
    assert all(t is not None and len(t.sample_scores or []) == 2 for t in feedback)


def test_the_old_config_keeps_its_identity(registry: Registry) -> None:
    dumped = resolve(small_run(), registry).model_dump(mode="json")
    assert "student_feedback" not in dumped
    assert "turns" not in TakeTurnsParams(teachers=[{"name": "random"}, {"name": "oracle"}]).model_dump()
    assert "choose" not in SelectUsefulParams().model_dump()
    assert SelectUsefulParams(choose="random").model_dump()["choose"] == "random"


def test_a_listening_student_needs_an_interaction_that_answers(registry: Registry) -> None:
    raw = small_run(student={"name": "learn-from-answers", "params": tiny_student()["params"]})
    with pytest.raises(ConfigError, match="answers-students"):
        resolve(raw, registry)


def test_a_listening_student_of_one_group_of_a_population_needs_an_interaction_that_answers(registry: Registry) -> None:
    """The check reads every group's student: here the run's student is a plain one, and the second group's
    listens."""
    listening = {"name": "learn-from-answers", "params": tiny_student()["params"]}
    population = [{"name": "plain", "count": 1}, {"name": "listening", "count": 1, "student": listening}]
    with pytest.raises(ConfigError, match=r"student 'learn-from-answers'.*answers-students"):
        resolve(small_run(population=population), registry)


def test_the_cli_refuses_a_listening_student_without_answers(cli) -> None:
    code, _, err = cli("run", "--student", "learn-from-answers", "--dry-run")
    assert code == 2 and "answers-students" in err


def test_the_structures_language_judges_where_a_sentence_goes_wrong() -> None:
    env = StructuresEnvironment(StructuresParams())
    assert env.judge([0, 1, 0, 2]) == Judgement(in_language=True, structure="Structure 1")
    assert env.judge([3, 3, 1, 1]).structure == "Structure 2"
    wrong = env.judge([0, 1, 1, 2])  # leaves Structure 1 at 2 (equal neighbours), Structure 2 at 1
    assert not wrong.in_language and wrong.position == 2 and "Structure 1" in (wrong.rule or "")
    short = env.judge([4])
    assert not short.in_language and short.position == 1 and "shorter" in (short.rule or "")
    long = env.judge([0, 1] * 6)
    assert not long.in_language and long.position == 10
    # a different question from label(): Structure 2 is in the language, not in the exam's structure
    assert env.judge([3, 3, 1, 1]).in_language and not env.label([3, 3, 1, 1])


def test_unlikelihood_lowers_the_probability_of_the_wrong_token() -> None:
    model = StackedTransformerLM(12, LMSize(layers=1, dim=16, heads=2, ffn=32), seeds=[1])
    wrong, where = [[[0, 1, 1, 2]]], [[2]]

    def p_wrong() -> float:
        with torch.no_grad():
            return 1 - math.exp(-float(unlikelihood_loss(model, wrong, where, 10)[0]))

    before = p_wrong()
    for _ in range(5):  # plain gradient steps (a torch.optim optimiser would import torch's compiler stack)
        model.zero_grad()
        unlikelihood_loss(model, wrong, where, 10).sum().backward()
        with torch.no_grad():
            for p in model.parameters():
                if p.grad is not None:
                    p -= 0.5 * p.grad
    assert p_wrong() < before


def test_trust_follows_how_each_teachers_lessons_changed_the_exam() -> None:
    def group(trust: str) -> TrustingStudents:
        params = TrustTeachersParams(dim=16, ffn=32, updates=1, trust=trust)  # type: ignore[arg-type]
        model = StackedTransformerLM(12, LMSize(layers=1, dim=16, heads=2, ffn=32), seeds=[1])
        return TrustingStudents(model, TrainRecipe(updates=1), seeds=[1], vocab_size=10, device="cpu", params=params)

    for trust in ("learned", "equal"):
        students = group(trust)
        for perplexity, teacher in ((20.0, "0:good"), (10.0, "1:bad"), (30.0, "0:good"), (12.0, "1:bad")):
            students.receive([StudentFeedback(perplexity=perplexity)], [teacher])
            students.train([[[0, 1, 0]]])
        # each score is credited to the teacher of the round before it
        shares = {t: students.share(0, t) for t in ("0:good", "1:bad")}
        if trust == "equal":
            assert shares == {"0:good": 1.0, "1:bad": 1.0}
        else:  # good's lessons were followed by 20 -> 10 and 30 -> 12; bad's by 10 -> 30
            assert shares["0:good"] == 1.0 and shares["1:bad"] < 0.01


def test_what_students_kept_for_the_run_were_told_survives_a_resume(registry: Registry, tmp_path: Path) -> None:
    registry.pm.register(RecordingPlugin())
    ask = {"name": "ask-for-feedback", "params": {"samples": 2, "judge_updates": 2, "judge_dim": 16}}
    raw = small_run(student=recording(), interaction=ask, student_lifetime="run", episodes=2)
    run = RunDir(tmp_path / "run")
    Experiment(resolve(raw, registry), registry, run).run()
    last = run.checkpoints()[-1]
    assert last.name == "episode-000002.pt"
    last.unlink()  # resume from the checkpoint after episode 1: episode 2 is repeated
    (run.path / "summary.json").unlink()
    RecordingGroup.told = []
    Experiment(resolve(raw, registry), registry, RunDir(tmp_path / "run")).run(resume=True)
    [(feedback, _)] = RecordingGroup.told  # the repeated episode starts with what episode 1 told
    assert all(t is not None and len(t.sample_scores or []) == 2 for t in feedback)


def test_take_turns_by_rounds_names_each_lessons_teacher(registry: Registry, tmp_path: Path) -> None:
    registry.pm.register(RecordingPlugin())
    RecordingGroup.told = []
    turns = {"name": "take-turns", "params": {"teachers": [{"name": "random"}, {"name": "oracle"}], "turns": "rounds"}}
    turns["params"]["turn"] = 1
    scores = {"name": "answer-students", "params": {"rounds": 2, "samples": 0}}
    raw = small_run(student=recording(), teacher=turns, interaction=scores, episodes=1)
    Experiment(resolve(raw, registry), registry, RunDir(tmp_path / "run")).run()
    told = RecordingGroup.told
    # round 0 (random): told nothing yet, but each lesson names its teacher; round 1 (oracle): both
    assert [teachers for _, teachers in told] == [["0:random", "0:random"], ["1:oracle", "1:oracle"]]
    assert told[0][0] == [] and all(t is not None and t.perplexity for t in told[1][0])


@pytest.mark.parametrize("entries", [2, 4])
def test_what_an_interaction_tells_its_students_is_one_entry_per_student_or_refused_naming_it(entries: int) -> None:
    from ilm_core import KNOWN_SCORES, PluginError
    from ilm_core.feedback import Rewards

    rewards = Rewards(directions=dict(KNOWN_SCORES), exam="perplexity", interaction="tells-too-much")
    told = rewards.student_feedback([StudentFeedback(perplexity=20.0), None, None], 3)
    assert told[0] is not None and told[0].reward == pytest.approx(-math.log(20.0)) and told[1:] == [None, None]
    with pytest.raises(PluginError, match=r"interaction plugin 'tells-too-much'.*for each of the 3 students"):
        rewards.student_feedback([None] * entries, 3)
