"""Shared pieces of the reliability tests: tiny configs, inline fault-injecting plugins, checks."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from conftest import small_run, tiny_student

from ilm_core import Environment, EnvironmentData, EnvironmentSpec, StudentSpec, TeacherSpec, hookimpl
from ilm_plugins.students import TransformerLMParams
from ilm_plugins.students.transformer_lm import TransformerLMStudent
from ilm_plugins.teachers import SelectBinParams
from ilm_plugins.teachers.select_bin import SelectBinTeacher


def permission_denied(*args: Any, **kwargs: Any) -> Any:
    """Stands in for a file operation that the file system refuses (a read-only disk, say)."""
    raise PermissionError(13, "Permission denied")


#: the tiny run of the in-process fault tests (a few tenths of a second per run)
SMALL = small_run(
    episodes=4,
    budget=4,
    student=tiny_student(3),
    teacher={"name": "select-bin", "params": {"lm_updates": 5, "lm_dim": 16}},
)

#: the same tiny settings as `ilm run` flags
TINY_FLAGS = [
    "--students",
    "2",
    "--budget",
    "4",
    "--set",
    "student.dim=16",
    "--set",
    "student.ffn=32",
    "--set",
    "teacher.lm_updates=5",
    "--set",
    "teacher.lm_dim=16",
    "--set",
    "environment.pool_size=20",
    "--set",
    "environment.teacher_corpus_size=10",
    "--set",
    "environment.exam_bank_size=20",
    "--set",
    "environment.heldout_size=5",
    "--quiet",
]


def metrics_lines(run: Path) -> list[str]:
    path = run / "metrics.jsonl"
    return path.read_text().splitlines() if path.exists() else []


def without_seconds(run: Path) -> list[dict[str, Any]]:
    """metrics.jsonl record for record, minus the wall-clock field (the only one allowed to differ)."""
    return [{k: v for k, v in json.loads(line).items() if k != "seconds"} for line in metrics_lines(run)]


def assert_prefix_intact(run: Path, before: list[str]) -> None:
    """Every metrics line written before a fault is still there, byte for byte."""
    after = metrics_lines(run)
    assert after[: len(before)] == before, "a finished episode was lost or changed by the fault"


def one_paragraph_error(code: int, out: str, err: str) -> str:
    """Exit code 2, a message on stderr only, no traceback, one paragraph."""
    assert code == 2, (code, out, err)
    assert "Traceback" not in out + err
    assert err.startswith("error:"), err
    assert "\n\n" not in err.strip(), err
    assert "error:" not in out, out  # the message goes to stderr only
    return " ".join(err.split())


def wait_for(check: Any, proc: subprocess.Popen[bytes], timeout: float = 120) -> bool:
    """Poll (no fixed sleeps) until `check()` holds; False when the process ended first."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return True
        if proc.poll() is not None:
            return check()
        time.sleep(0.01)
    raise AssertionError("timed out waiting for the run")


def ilm_process(*args: str) -> subprocess.Popen[bytes]:
    """`ilm ARGS` in a fresh process (single-threaded torch: tiny models run fastest on one thread)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    return subprocess.Popen(
        [sys.executable, "-c", "from ilm_core.cli import main; main()", "run", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


# -- fault-injecting plugins, registered in-process ----------------------------------------
#: switches the tests flip; the plugins read them at call time
FAULTS: dict[str, Any] = {
    "teacher_stage": None,
    "teacher_episode": 2,
    "diverge_from_call": None,
    "teacher_fault": "raise",  # or "exit" (sys.exit(7)), "unpicklable" (state_dict), "nan-stats"
    "observer": None,  # a callable(run_dir, episode) run at the end of each episode
}


class FlakyTeacher(SelectBinTeacher):
    """select-bin that raises in `FAULTS['teacher_stage']` ('select' or 'learn') of episode 2."""

    episode = -1

    def _fault(self, stage: str, episode: int) -> None:
        if FAULTS["teacher_stage"] == stage and episode == FAULTS["teacher_episode"]:
            if FAULTS["teacher_fault"] == "exit":
                sys.exit(7)
            raise RuntimeError("injected failure")

    def setup(self, context: Any) -> None:
        self._fault("setup", -1)
        super().setup(context)

    def select(self, context: Any) -> Any:
        self.episode = context.episode
        self._fault("select", context.episode)
        return super().select(context)

    def learn(self, feedback: Any) -> Any:
        self._fault("learn", self.episode)
        update = super().learn(feedback)
        if FAULTS["teacher_fault"] == "nan-stats" and self.episode >= FAULTS["teacher_episode"]:
            update.stats["entropy"] = math.nan
            update.stats["policy_loss"] = math.inf
        return update

    def state_dict(self) -> Any:
        state = super().state_dict()
        if FAULTS["teacher_fault"] == "unpicklable" and self.episode >= FAULTS["teacher_episode"]:
            state["callback"] = lambda: None  # a lambda cannot be pickled
        return state


class HalfNaNStudent(TransformerLMStudent):
    """The native student whose student 0 ends with a NaN loss from the n-th training call on."""

    calls = 0

    def train(self, lessons: Any, seeds: Any, vocab_size: int, device: str) -> Any:
        trained = super().train(lessons, seeds, vocab_size, device)
        self.calls += 1
        start = FAULTS["diverge_from_call"]
        if start is not None and self.calls > start:
            trained.losses[-1, 0] = math.nan
        return trained


class ShortStudent(TransformerLMStudent):
    """The native student whose scores leave out the exam's last sentence (a result of the wrong shape)."""

    def train(self, lessons: Any, seeds: Any, vocab_size: int, device: str) -> Any:
        trained = super().train(lessons, seeds, vocab_size, device)
        score = trained.sentence_nll
        trained.sentence_nll = lambda sentences: score(list(sentences)[:-1])
        return trained


class FaultObserver:
    """A lifecycle-hook plugin that runs `FAULTS['observer'](run_dir, episode)` after each episode."""

    __name__ = "fault-observer"

    @hookimpl
    def ilm_episode_end(self, run: Any, record: Any) -> None:
        if FAULTS["observer"] is not None:
            FAULTS["observer"](run.run_dir.path, record.episode)


class OverlappingEnvironment(Environment):
    """An environment whose exam repeats a teacher-corpus sentence (a leak the core must refuse)."""

    def __init__(self, params: Any = None):
        self.params = params

    def build(self, seed: int) -> EnvironmentData:
        sentences = [[i % 4, (i // 4) % 4, 1] for i in range(16)]
        return EnvironmentData(
            vocabulary=list("abcd"),
            exam_domain="all",
            teacher_corpus=sentences[:4],
            pool=sentences[4:12],
            pool_in_exam_domain=[True] * 8,
            exam=[sentences[0], *sentences[12:14]],
            exam_bank=[],
            heldout_exam=sentences[14:],
        )


class FaultPlugins:
    """An in-process plugin providing the fault-injecting components."""

    __name__ = "reliability-faults"

    @hookimpl
    def ilm_teachers(self) -> Any:
        yield TeacherSpec(
            name="flaky", summary="raises in episode 2 when told to", factory=FlakyTeacher, params=SelectBinParams
        )

    @hookimpl
    def ilm_students(self) -> Any:
        for name, summary, factory in (
            ("half-nan", "student 0 diverges when told to", HalfNaNStudent),
            ("short", "scores one exam sentence too few", ShortStudent),
        ):
            yield StudentSpec(
                name=name, summary=summary, factory=factory, params=TransformerLMParams, capabilities={"batched"}
            )

    @hookimpl
    def ilm_environments(self) -> Any:
        yield EnvironmentSpec(name="leaky", summary="exam overlaps the teacher corpus", factory=OverlappingEnvironment)


def killed_at_random_points(args: list[str], out: Path, seed: int, kills: int = 3) -> tuple[int, list[str]]:
    """`ilm run ARGS --out OUT`, killed with SIGKILL at `kills` seeded random points (each after some
    progress) and resumed each time; the last resume runs to the end. Every kill must leave the
    metrics lines written before it intact. Returns (kills that landed, lines seen at the last kill)."""
    import random

    rng = random.Random(seed)
    proc = ilm_process(*args, "--out", str(out))
    landed, seen = 0, []
    while landed < kills:
        start = len(seen)
        # some progress since the last kill, then a random point inside the next episode(s)
        if not wait_for(lambda start=start: len(metrics_lines(out)) > start, proc):
            break
        time.sleep(rng.uniform(0.0, 0.3))
        proc.kill()
        proc.wait()
        if proc.returncode != -9:
            break
        landed += 1
        lines = metrics_lines(out)
        assert lines[: len(seen)] == seen, f"kill {landed} lost or changed a finished episode"
        seen = lines
        proc = ilm_process("--resume", str(out), "--quiet")
    _, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err.decode()
    return landed, seen
