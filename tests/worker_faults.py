"""A test plugin: the native student, except that it fails on purpose while training one student.

Fault injection lives here, in a plugin the tests install, not in the executors: the
`worker_faults` fixture (tests/test_executors.py) registers it as an installed distribution, so worker
processes, which load their plugins from entry points, find it too.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from typing import Literal

from ilm_core import StudentSpec, TrainedStudents, hookimpl
from ilm_plugins.students import NATIVE, TransformerLMParams
from ilm_plugins.students.transformer_lm import TransformerLMStudent


class FaultyParams(TransformerLMParams):
    mode: Literal["raise", "exit", "kill", "hang"] = "raise"
    fail_seed: int = 0  # fails while training the student with this seed
    while_file: str | None = None  # fails only while this file exists (None: always): a test "fixes" it


class FaultyStudent(TransformerLMStudent):
    """Fails the process that trains the student seeded `fail_seed`: raise, exit, SIGKILL or hang."""

    def __init__(self, params: FaultyParams):
        super().__init__(TransformerLMParams(**params.model_dump(exclude={"mode", "fail_seed", "while_file"})))
        self.mode, self.fail_seed, self.while_file = params.mode, params.fail_seed, params.while_file

    def train(self, lessons: list, seeds: list[int], vocab_size: int, device: str) -> TrainedStudents:
        armed = self.while_file is None or os.path.exists(self.while_file)
        if self.fail_seed in seeds and armed:
            if self.mode == "raise":
                raise RuntimeError("injected failure")
            if self.mode == "exit":
                os._exit(3)
            if self.mode == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            while True:  # hang
                time.sleep(3600)
        return super().train(lessons, seeds, vocab_size, device)


@hookimpl
def ilm_students() -> Iterator[StudentSpec]:
    yield StudentSpec(
        name="faulty-lm",
        summary="test: fails on purpose",
        factory=FaultyStudent,
        params=FaultyParams,
        capabilities=NATIVE,
    )
