"""The messages refuse what a careless plugin could send: a misspelt record field, a feedback
perplexity that is not a finite, non-negative number."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from ilm_core import EpisodeRecord, Feedback, Lesson


def _record(**extra):
    return EpisodeRecord(
        episode=0,
        seconds=1.0,
        reward_mean=-2.0,
        reward_std=0.0,
        perplexity_mean=2.0,
        perplexity_std=0.0,
        tokens_sent=10,
        **extra,
    )


def test_a_misspelt_record_field_is_refused_not_taken_for_a_measure():
    with pytest.raises(ValidationError, match="heldout_perplexity_maen"):
        _record(heldout_perplexity_maen=3.0)


def test_a_metrics_line_read_back_gives_its_measures():
    line = _record(measures={"fraction_exam_domain": 0.5}).to_json()
    assert line["fraction_exam_domain"] == 0.5
    back = EpisodeRecord.from_json(line)
    assert back.value("fraction_exam_domain") == 0.5 and back.to_json() == line


@pytest.mark.parametrize("value", [math.inf, -1.0, math.nan])
def test_feedback_refuses_a_perplexity_that_is_not_finite_and_non_negative(value):
    with pytest.raises(ValidationError, match="finite, non-negative"):
        Feedback(student=0, lesson=Lesson(student=0, indices=[1]), perplexity=value)


def test_feedback_takes_a_finite_perplexity():
    assert Feedback(student=0, lesson=Lesson(student=0, indices=[1]), perplexity=3.5).perplexity == 3.5


def test_a_misspelt_capability_is_refused_naming_the_allowed_ones():
    from ilm_core import Capability, StudentSpec

    with pytest.raises(ValidationError, match="'batched', 'concurrent'"):
        StudentSpec(name="s", summary="s", factory=print, capabilities=frozenset({"bached"}))
    spec = StudentSpec(name="s", summary="s", factory=print, capabilities=frozenset({"batched"}))
    assert "batched" in spec.capabilities and Capability.BATCHED in spec.capabilities


def test_a_student_that_implements_neither_create_nor_train_is_refused_when_defined():
    from ilm_core import Student

    with pytest.raises(TypeError, match="neither create"):

        class Nothing(Student):
            pass

    class OneRound(Student):
        def train(self, lessons, seeds, vocab_size, device):
            raise NotImplementedError

    assert OneRound() is not None


@pytest.mark.parametrize(
    ("declared", "named"),
    [
        ({"rank": "best"}, "declares rank='best'"),
        ({"capabilities": {"privileged"}}, "declares capability 'privileged'"),
    ],
)
def test_a_learning_teacher_that_declares_what_only_a_reference_may_is_told_which(declared, named):
    from ilm_core import TeacherSpec

    with pytest.raises(ValidationError) as refused:
        TeacherSpec(name="eager", summary="a learner", factory=dict, **declared)
    assert f"teacher 'eager' {named} but role='learner'" in str(refused.value)
    TeacherSpec(name="eager", summary="a reference", factory=dict, role="reference", **declared)  # allowed


# -- the rules of the other messages, at their edges --------------------------------------------


def _environment(**changes):
    from ilm_core import EnvironmentData

    fields = {
        "vocabulary": ["a", "b", "c"],
        "exam_domain": "a",
        "teacher_corpus": [[0]],
        "pool": [[0], [1, 2]],
        "exam": [[2]],
    }
    return EnvironmentData(**{**fields, **changes})


def test_environment_data_names_a_token_outside_the_vocabulary_and_its_bounds():
    from ilm_core import MinimalPair

    with pytest.raises(ValidationError, match=r"pool\[1\] has token id 3, outside the vocabulary 0\.\.2"):
        _environment(pool=[[0], [1, 3]])
    pair = MinimalPair(good=[0], bad=[3])
    with pytest.raises(ValidationError, match=r"minimal_pairs\[0\] has token id 3, outside the vocabulary 0\.\.2"):
        _environment(minimal_pairs=[pair])
    # the smallest of everything is allowed: a one-token pair, exam-domain labels one per pool sentence
    _environment(minimal_pairs=[MinimalPair(good=[0], bad=[1])], pool_in_exam_domain=[True, False])
    with pytest.raises(ValidationError, match="pool_in_exam_domain has 3 labels for a pool of 2 sentences"):
        _environment(pool_in_exam_domain=[True, False, True])


def test_hidden_goals_are_two_or_more_and_each_has_an_exam():
    from ilm_core import Goal

    goal = {"exam": [[2]], "pool": [True, False]}
    _environment(goals={"x": Goal(**goal), "y": Goal(**goal)})
    with pytest.raises(ValidationError, match="give at least two, or none"):
        _environment(goals={"x": Goal(**goal)})
    with pytest.raises(ValidationError, match="exam"):
        Goal(exam=[], pool=[True, False])


def test_the_smallest_allowed_values_of_the_messages_are_allowed():
    from ilm_core import ComponentScore, Judgement, StudentFeedback, StudentReport

    assert Judgement(in_language=False, position=0).position == 0  # the very first token
    assert ComponentScore(score=1.0, weight=0.5).weight == 0.5
    assert StudentFeedback().round == 0
    report = StudentReport(student=0, seed=1, final_loss=1.0, exams={})
    assert report.diverged is False  # a report says so only when the student diverged
    assert Feedback(student=0, lesson=Lesson(student=0, indices=[0]), perplexity=0.0).perplexity == 0.0


@pytest.mark.parametrize(("in_scores", "given"), [(6.0, 5.0), (5.0, 6.0), (math.nan, 5.0)])
def test_a_score_given_both_ways_must_agree(in_scores, given):
    from ilm_core import ExamResult

    with pytest.raises(ValidationError, match=f"perplexity is {given} but scores"):
        ExamResult(scores={"perplexity": in_scores}, perplexity=given)
    both_nan = ExamResult(scores={"perplexity": math.nan}, perplexity=math.nan)  # a diverged student, both ways
    assert math.isnan(both_nan.perplexity)


def test_a_job_refuses_item_sets_that_do_not_fit_its_students_or_its_exam():
    from ilm_core import ComponentRef, Round, TrainingJob

    job = {
        "student": ComponentRef(name="s"),
        "exam": ComponentRef(name="e"),
        "vocab_size": 3,
        "lessons": [[[0]], [[1]]],
        "seeds": [1, 2],
        "exams": {"feedback": [[0], [1], [2]]},
    }
    TrainingJob(**job, item_sets={"feedback": [[0], [2]]})
    with pytest.raises(ValidationError, match=r"item_sets\['feedback'\] has 1 sets for 2 students"):
        TrainingJob(**job, item_sets={"feedback": [[0]]})
    with pytest.raises(ValidationError, match=r"a position outside 0\.\.2"):
        TrainingJob(**job, item_sets={"feedback": [[0], [3]]})
    for negative_probe in (lambda: TrainingJob(**job, probe=-1, probe_seeds=[3, 4]), lambda: Round(size=1, probe=-1)):
        with pytest.raises(ValidationError) as refused:
            negative_probe()
        assert [(e["loc"], e["type"]) for e in refused.value.errors()] == [(("probe",), "greater_than_equal")]


# -- the interfaces: what a plugin must implement, what a teacher is given ------------------------


@pytest.mark.parametrize(("base", "method"), [("Environment", "build"), ("Teacher", "select")])
def test_a_plugin_class_without_its_required_method_cannot_be_made(base, method):
    import ilm_core

    class Incomplete(getattr(ilm_core, base)):
        pass

    with pytest.raises(TypeError, match=f"abstract method '?{method}'?"):
        Incomplete()


def test_trained_students_without_sentence_nll_cannot_be_made():
    from ilm_core.interfaces import TrainedStudents

    class Unscorable(TrainedStudents):
        @property
        def final_losses(self):
            return [1.0]

    with pytest.raises(TypeError, match="sentence_nll"):
        Unscorable()


def test_a_round_context_is_read_only_and_says_whether_anything_was_sent():
    import dataclasses

    from ilm_core import RoundContext

    first = RoundContext.one_round(n_students=2, episode=0, size=3)
    assert first.first is True and first.goals is None  # no hidden goals unless the episode has them
    later = dataclasses.replace(first, round=1, rounds=2, sent=[[4], []])
    assert later.first is False
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.size = 5  # type: ignore[misc]
