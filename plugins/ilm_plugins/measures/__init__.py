"""Measures of each episode: the paper's exam-domain fraction and n-gram overlap with the exam."""

from __future__ import annotations

from collections.abc import Iterator

from ilm_core import MeasureSpec, PluginSpec, hookimpl


@hookimpl
def ilm_measures() -> Iterator[PluginSpec]:  # MeasureSpec is made at run time: not a type to mypy
    yield MeasureSpec(
        name="exam-domain",
        summary="fraction of taught sentences from the exam's domain (Figure 2b), per student and per round",
        factory="ilm_plugins.measures.exam_domain:ExamDomainMeasure",
        roadmap=("evaluation.teacher.protocol-accuracy",),
    )
    yield MeasureSpec(
        name="ngram-overlap",
        summary="unigram, bigram and trigram overlap between the taught data and the feedback exam (App. C)",
        factory="ilm_plugins.measures.ngram:NgramOverlapMeasure",
    )
