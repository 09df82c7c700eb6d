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
