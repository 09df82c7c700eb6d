"""Lessons as the core sees them: checked against the run's rules, turned into sentences,
and, when a teacher generated them, counted and kept in the run directory.

A lesson holds pool indices, generated sentences, or both. Of generated sentences the core counts
those `Environment.label` cannot label, and any that equals an exam or held-out sentence, since a
teacher that writes the exam into its lessons would make the exam measure nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, cast

from ilm_core.errors import PluginError
from ilm_core.files import atomic_write_bytes
from ilm_core.messages import EnvironmentData, Lesson, Round, Sentence

#: folder of the run directory holding what a generating teacher sent, one file per episode
GENERATED_DIR = "lessons"


@dataclass(frozen=True)
class LessonRules:
    """What every lesson of a run must respect; `check` names the teacher plugin when one does not."""

    teacher: str
    n_students: int
    budget: int
    pool_size: int
    vocab_size: int
    max_length: int

    @classmethod
    def of(
        cls, data: EnvironmentData, *, teacher: str, n_students: int, budget: int, max_length: int | None = None
    ) -> LessonRules:
        """Rules for `data`; `max_length` is the environment's declared bound (None: its longest sentence)."""
        if max_length is None:
            parts = (data.teacher_corpus, data.pool, data.exam, data.exam_bank, data.heldout_exam)
            max_length = max(len(s) for part in parts for s in part)
        return cls(teacher, n_students, budget, len(data.pool), len(data.vocabulary), max_length)

    def _fail(self, msg: str) -> NoReturn:
        raise PluginError(
            f"teacher plugin '{self.teacher}' sent an invalid lesson: {msg}", plugin=self.teacher, stage="select"
        )

    def check_round(self, lessons: list[Lesson], rnd: Round, k: int, rounds: int, sent: list[list[int]]) -> None:
        """`check` for round k of an episode of `rounds` rounds (its size, not the budget), and no student
        sent again what it got in an earlier round (`sent`) unless the round allows repeats."""
        allows = (
            f"the budget allows 1 to {self.budget}"
            if rounds == 1
            else f"round {k} of {rounds} allows 1 to {rnd.size} (RoundContext.size); the core does not trim "
            "lessons: draw the round's size, or return ilm_core.fit_to_round(lessons, context)"
        )
        self.check(lessons, size=rnd.size, allows=allows)
        for i, lesson in enumerate(lessons):
            again = sorted(set(lesson.indices) & set(sent[i]))
            if again and not rnd.repeats:
                self._fail(
                    f"round {k} resends to student {i} sentence(s) {again} it got in an earlier round of the "
                    "episode (RoundContext.sent; RoundContext.unsent lists what it may still get)"
                )

    def check(self, lessons: object, size: int | None = None, allows: str | None = None) -> None:
        """Raise a PluginError naming the teacher unless `lessons` has one valid lesson per student.

        `size` (default: the budget) is the most sentences one lesson may hold; `allows` says so
        in the error (default: "the budget allows 1 to <size>").
        """
        size = self.budget if size is None else size
        allows = allows or f"the budget allows 1 to {size}"
        fail = self._fail

        if not isinstance(lessons, list) or len(lessons) != self.n_students:
            got = len(lessons) if isinstance(lessons, list) else type(lessons).__name__
            fail(f"expected {self.n_students} lessons (one per student), got {got}")
        for i, lesson in enumerate(cast("list[object]", lessons)):
            if not isinstance(lesson, Lesson):
                fail(f"lesson {i} is a {type(lesson).__name__}, not an ilm_core.messages.Lesson")
            if lesson.student != i:
                fail(f"lesson {i} is addressed to student {lesson.student}; lesson i must go to student i")
            idx, generated = lesson.indices, lesson.sentences
            total = len(idx) + len(generated)
            if not 1 <= total <= size:
                fail(f"lesson {i} has {total} sentences; {allows}")
            if len(set(idx)) != len(idx):
                fail(f"lesson {i} repeats a sentence: {idx}")
            bad = [j for j in idx if not 0 <= j < self.pool_size]
            if bad:
                fail(f"lesson {i} has index {bad[0]}, outside the pool 0..{self.pool_size - 1}")
            for k, sentence in enumerate(generated):
                if not sentence:
                    fail(f"lesson {i}, generated sentence {k} is empty; a sentence needs at least one token")
                if len(sentence) > self.max_length:
                    fail(
                        f"lesson {i}, generated sentence {k} has {len(sentence)} tokens; the environment's "
                        f"sentences have at most {self.max_length}"
                    )
                oov = [t for t in sentence if not 0 <= t < self.vocab_size]
                if oov:
                    fail(
                        f"lesson {i}, generated sentence {k} has token id {oov[0]}, outside the vocabulary "
                        f"0..{self.vocab_size - 1}"
                    )


def sentences_of(lesson: Lesson, pool: Sequence[Sentence]) -> list[Sentence]:
    """The sentences a lesson sends: its pool sentences, then the generated ones."""
    return [list(pool[j]) for j in lesson.indices] + [list(s) for s in lesson.sentences]


def generated_counts(
    lessons: Sequence[Lesson], data: EnvironmentData, label: Callable[[Sentence], bool | None]
) -> dict[str, list[float | None]]:
    """Per student: generated sentences, how many the environment could not label, and how many
    copy an exam sentence (feedback exam or bank), a held-out one, or one the teacher was shown
    (pool, teacher corpus). Empty when no lesson holds a generated sentence."""
    if not any(lesson.sentences for lesson in lessons):
        return {}
    sets = {
        "exam": {tuple(s) for s in (*data.exam, *data.exam_bank)},
        "heldout": {tuple(s) for s in data.heldout_exam},
        "known": {tuple(s) for s in (*data.pool, *data.teacher_corpus)},
    }
    out: dict[str, list[float | None]] = {"generated": [], "generated_unlabelled": []}
    out.update({f"generated_{name}_copies": [] for name in sets})
    for lesson in lessons:
        out["generated"].append(len(lesson.sentences))
        out["generated_unlabelled"].append(sum(label(s) is None for s in lesson.sentences))
        for name, known in sets.items():
            out[f"generated_{name}_copies"].append(sum(tuple(s) in known for s in lesson.sentences))
    return out


def keep_generated(
    run_path: Path | None,
    episode: int,
    lessons: Sequence[Lesson],
    counts: dict[str, list[float | None]],
    notify: Callable[[str], None],
) -> Path | None:
    """Keep what a generating teacher sent (`counts`: its `generated_counts`, empty for pool-only lessons,
    whose config rebuilds them) in `lessons/episode-NNNNN.json` of a run directory (atomic; a repeated
    episode writes the same file again), with a notice when it wrote exam or held-out sentences.
    Sentences are space-joined token ids, one list per student."""
    if not counts or run_path is None:
        return None
    path = Path(run_path) / GENERATED_DIR / f"episode-{episode:05d}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {
        "episode": episode,
        "students": [
            {"indices": lesson.indices, "sentences": [" ".join(map(str, s)) for s in lesson.sentences]}
            for lesson in lessons
        ],
    }
    atomic_write_bytes(path, json.dumps(body, separators=(",", ":")).encode())
    copied = sum(counts["generated_exam_copies"]) + sum(counts["generated_heldout_copies"])  # type: ignore[arg-type]
    if copied:
        notify(f"episode {episode}: the teacher generated {copied:g} sentence(s) of the exam or held-out exam")
    return path


def read_generated(path: Path) -> list[list[Sentence]]:
    """The generated sentences of one `lessons/episode-NNNNN.json` file, per student."""
    body = json.loads(Path(path).read_text())
    return [[[int(t) for t in s.split()] for s in student["sentences"]] for student in body["students"]]


def generated_summary(records: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Totals over a run of what its teacher generated (for summary.json); {} for a pool-only run."""
    keys: tuple[str, ...] = ("generated", "generated_unlabelled", "generated_exam_copies", "generated_heldout_copies")
    keys += ("generated_known_copies",)
    totals = {key: 0 for key in keys}
    found = False
    for record in records:
        per = record.get("per_student", {})
        if "generated" in per:
            found = True
            for key in keys:
                totals[key] += int(sum(v or 0 for v in per.get(key, [])))
    return totals if found else {}
