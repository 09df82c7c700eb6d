"""Faults in the middle of a run: the file system, observers, teachers that exit or cannot be saved,
NaN statistics, results of the wrong shape, signals. Each ends with one paragraph and exit 2 (or
the signal's code) naming what failed, the finished episodes stay intact and the run resumes."""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import signal
from pathlib import Path

import pytest

from ._support import TINY_FLAGS, ilm_process, metrics_lines, one_paragraph_error, wait_for

ARGS = ["run", "--episodes", "4", *TINY_FLAGS, "--set", "student.updates=3"]


def strict_json(text: str) -> object:
    """json.loads that refuses the bare NaN / Infinity that Python's json writes by default."""

    def refuse(name: str) -> None:
        raise ValueError(f"not valid JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def then_resume(fault_cli, faults, out: Path, before: list[str]) -> None:
    """The cause removed, `--resume` finishes the run and keeps every line written before the fault."""
    faults["observer"] = None
    code, _, err = fault_cli("run", "--resume", str(out), "--quiet")
    assert code == 0, err
    assert metrics_lines(out)[: len(before)] == before and len(metrics_lines(out)) == 4


# -- the file system -------------------------------------------------------------------------
def replace_checkpoints_with_a_file(run: Path) -> None:
    shutil.rmtree(run / "checkpoints")
    (run / "checkpoints").write_text("not a folder")


def replace_metrics_with_a_folder(run: Path) -> None:
    (run / "metrics.jsonl").unlink()
    (run / "metrics.jsonl").mkdir()


@pytest.mark.parametrize(
    ("damage", "file", "saved", "repair"),
    [
        (
            replace_checkpoints_with_a_file,
            "checkpoints/episode-000003.pt",
            "0-2",
            lambda r: r.joinpath("checkpoints").unlink(),
        ),
        (replace_metrics_with_a_folder, "metrics.jsonl", "0-1", None),
    ],
)
def test_a_run_file_replaced_mid_run_is_one_paragraph(fault_cli, faults, tmp_path, damage, file, saved, repair):
    out = tmp_path / "r"

    def observer(run: Path, episode: int) -> None:
        if episode == 1:
            damage(run)

    faults["observer"] = observer
    err = one_paragraph_error(*fault_cli(*ARGS, "--out", str(out)))
    assert f"cannot write {out / file}" in err
    assert "The run stopped" in err and f"episodes {saved} are saved" in err
    assert f"ilm run --resume {out}" in err
    if repair is not None:
        repair(out)
        (out / "checkpoints").mkdir()
        then_resume(fault_cli, faults, out, metrics_lines(out))


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
def test_a_full_disk_or_read_only_folder_while_saving_a_checkpoint(fault_cli, faults, tmp_path, monkeypatch, code):
    out = tmp_path / "r"
    real_open, failing = open, {"on": True}

    def failing_open(path, *args, **kwargs):
        if failing["on"] and "episode-000003" in str(path):
            raise OSError(code, os.strerror(code))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("ilm_core.files.open", failing_open, raising=False)
    err = one_paragraph_error(*fault_cli(*ARGS, "--out", str(out)))
    assert f"cannot write {out / 'checkpoints' / 'episode-000003.pt'}: {os.strerror(code)}" in err
    assert "episodes 0-2 are saved" in err and "--resume" in err
    assert not [p for p in (out / "checkpoints").iterdir() if ".tmp-" in p.name]  # nothing torn left behind
    failing["on"] = False
    then_resume(fault_cli, faults, out, metrics_lines(out))


# -- plugins ---------------------------------------------------------------------------------
def test_an_observer_that_raises_is_named_switched_off_and_the_run_completes(fault_cli, faults, tmp_path):
    """Watchers have one rule: a plugin's lifecycle hook that raises is named once, switched off,
    and listed in summary.json; the run and its files are as without it."""
    calls: list[int] = []

    def observer(run: Path, episode: int) -> None:
        calls.append(episode)
        if episode == 1:
            raise KeyError("tracker gone")

    faults["observer"] = observer
    out = tmp_path / "r"
    code, stdout, stderr = fault_cli(*ARGS, "--out", str(out), "--quiet")
    assert code == 0, stderr
    text = " ".join(stdout.split())
    assert text.count("notice:") == 1
    assert "plugin 'fault-observer' failed in ilm_episode_end(): KeyError: 'tracker gone'" in text
    assert calls == [0, 1]  # switched off after its error
    summary = json.loads((out / "summary.json").read_text())
    assert summary["episodes"] == 4 and list(summary["switched_off"]) == ["fault-observer"]
    faults["observer"] = None
    clean = tmp_path / "clean"
    assert fault_cli(*ARGS, "--out", str(clean), "--quiet")[0] == 0
    assert [json.loads(line) | {"seconds": 0} for line in metrics_lines(out)] == [
        json.loads(line) | {"seconds": 0} for line in metrics_lines(clean)
    ]


@pytest.mark.parametrize(
    ("fault", "stage", "expected"),
    [
        ("exit", "select", "called sys.exit(7) in select()"),
        ("unpicklable", None, "returned a state_dict() that cannot be saved in a checkpoint"),
    ],
)
def test_a_teacher_that_exits_or_cannot_be_saved_is_named(fault_cli, faults, tmp_path, fault, stage, expected):
    faults["teacher_fault"], faults["teacher_stage"] = fault, stage
    out = tmp_path / "r"
    err = one_paragraph_error(*fault_cli(*ARGS, "--teacher", "flaky", "--out", str(out)))
    assert "teacher plugin 'flaky'" in err and expected in err
    assert "episode 2" in err and "--resume" in err
    assert len(metrics_lines(out)) in (2, 3)


def test_non_finite_teacher_stats_are_a_notice_and_valid_json(fault_cli, faults, tmp_path):
    faults["teacher_fault"] = "nan-stats"
    out = tmp_path / "r"
    code, stdout, err = fault_cli(*ARGS, "--teacher", "flaky", "--out", str(out))
    assert code == 0, err
    assert "teacher plugin 'flaky' reported non-finite statistics" in " ".join(stdout.split())
    records = [strict_json(line) for line in metrics_lines(out)]
    assert records[2]["entropy"] is None and records[2]["teacher"]["policy_loss"] is None
    code, _, err = fault_cli("report", str(out), "--out", str(tmp_path / "rep"))
    assert code == 0, err
    strict_json((tmp_path / "rep" / "report.json").read_text())


def test_non_finite_teacher_stats_stop_the_run_under_the_stop_policy(fault_cli, faults, tmp_path):
    faults["teacher_fault"] = "nan-stats"
    out = tmp_path / "r"
    err = one_paragraph_error(*fault_cli(*ARGS, "--teacher", "flaky", "--set", "on_diverged=stop", "--out", str(out)))
    assert "non-finite statistics" in err and "entropy=nan" in err and "on_diverged='stop'" in err
    assert "episodes 0-1 are saved" in err


def test_a_student_result_of_the_wrong_shape_is_refused(fault_cli, tmp_path):
    out = tmp_path / "r"
    err = one_paragraph_error(*fault_cli(*ARGS, "--student", "short", "--out", str(out)))
    assert "student plugin 'short'" in err and "wrong shape from sentence_nll()" in err
    assert "for 2 student(s) and" in err
    assert not out.exists()  # no episode finished: nothing half-made is left


# -- signals ---------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_says_where_the_run_stopped_and_how_to_resume(tmp_path, sig):
    out = tmp_path / "r"
    proc = ilm_process("--episodes", "5000", *TINY_FLAGS, "--out", str(out))  # far more than finish before the signal
    try:
        assert wait_for(lambda: len(metrics_lines(out)) >= 1, proc)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = " ".join(err.decode().split())
    assert proc.returncode == 128 + sig, text
    assert "Traceback" not in text
    assert f"interrupted by {signal.Signals(sig).name}" in text and "The run stopped" in text
    assert f"ilm run --resume {out}" in text
    for line in metrics_lines(out):
        json.loads(line)  # every line whole


def test_reports_that_do_not_answer_the_job_name_the_executor():
    from ilm_core import ComponentRef, ExamResult, PluginError, StudentReport, TrainingJob
    from ilm_core.report_check import check_reports

    job = TrainingJob(
        student=ComponentRef(name="transformer-lm"),
        exam=ComponentRef(name="perplexity"),
        vocab_size=4,
        lessons=[[[1, 2]], [[2, 3]]],
        seeds=[1, 2],
        exams={"feedback": [[1, 2, 3]]},
    )
    result = ExamResult(perplexity=3.0, item_perplexities=[3.0], nll=1.0, tokens=4)
    report = StudentReport(student=0, seed=1, final_loss=1.0, exams={"feedback": result})
    accuracy = ExamResult(scores={"accuracy": 0.5})
    check_reports(job, [report, report.model_copy(update={"student": 1})], "sequential")  # fits: no error
    for reports, expected in (
        ([report], "1 reports for 2 lessons"),
        ([report, report], "students [0, 0], expected 0..1 once each"),
        ([report, report.model_copy(update={"student": 1, "exams": {}})], "no result for the exam(s) 'feedback'"),
        (  # the record reads every student's scores by the first student's names: they must agree
            [report, report.model_copy(update={"student": 1, "exams": {"feedback": accuracy}})],
            "exam 'feedback' gave student 1 the scores ['accuracy'] but student 0 ['perplexity']",
        ),
    ):
        with pytest.raises(PluginError, match=re.escape(expected)) as info:
            check_reports(job, reports, "sequential")
        assert "executor plugin 'sequential'" in str(info.value)
    placed = job.model_copy(update={"placement": [[1, 2], [2, 3]]})
    with_losses = report.model_copy(update={"placement": [1.0, 2.0]})
    check_reports(placed, [with_losses, with_losses.model_copy(update={"student": 1})], "sequential")
    with pytest.raises(PluginError, match=re.escape("student 1 has 1 placement losses for 2 sentences")):
        check_reports(placed, [with_losses, with_losses.model_copy(update={"student": 1, "placement": [1.0]})], "x")


def test_more_than_three_problems_are_counted_beyond_the_three_named():
    from ilm_core import ComponentRef, PluginError, StudentReport, TrainingJob
    from ilm_core.report_check import check_reports

    job = TrainingJob(
        student=ComponentRef(name="transformer-lm"),
        exam=ComponentRef(name="perplexity"),
        vocab_size=4,
        lessons=[[[1, 2]]] * 5,
        seeds=[1, 2, 3, 4, 5],
        exams={"feedback": [[1, 2, 3]]},
    )
    reports = [StudentReport(student=i, seed=i + 1, final_loss=1.0, exams={}) for i in range(5)]
    with pytest.raises(PluginError, match=r"no result for the exam\(s\) 'feedback'; and 2 more\. Each") as info:
        check_reports(job, reports, "sequential")
    assert str(info.value).count("no result") == 3


@pytest.mark.parametrize(
    ("rows", "tokens"), [([[1.0, 2.0]] * 2, [3]), ([[1.0, 2.0]] * 2, [3, 3, 3]), ([[1.0]] * 2, [3, 3])]
)
def test_a_group_answering_sentence_nll_in_the_wrong_shape_is_refused_naming_the_student(rows, tokens):
    """Two students, two sentences: a token count too few or too many, or a score missing, is refused."""
    from ilm_core import PluginError
    from ilm_core.report_check import CheckedStudents

    class Group:
        def __init__(self, answer: tuple[list[list[float]], list[int]]) -> None:
            self.answer = answer

        def sentence_nll(self, sentences):
            return self.answer

    with pytest.raises(PluginError, match=r"student plugin 'short' returned results of the wrong shape"):
        CheckedStudents(Group((rows, tokens)), "short", 2).sentence_nll([[1, 2], [2, 3]])
    right = ([[1.0, 2.0]] * 2, [3, 3])  # the right shape passes
    assert CheckedStudents(Group(right), "short", 2).sentence_nll([[1, 2], [2, 3]]) == right
