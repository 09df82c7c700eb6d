"""What listening costs a teacher: select() and learn() of one episode, feedback-bin against select-bin.

Both teachers get the same pool embeddings (their LM set-up is not timed) and play the same
episode: `--rounds` rounds of `--students` students with mid-term feedback, then one policy
update. select-bin draws each round from its one policy; feedback-bin also builds every
student's memory from the feedback and scores the pool per student. Rounds are interleaved
(each repeat times both teachers), and the ratio is the median of the per-repeat ratios, so a
busy machine's drift hits both alike. Only the teacher is timed: the students' training, which
dominates an episode, is the same for both.

    python benchmarks/teacher_cost.py [--students 12] [--rounds 3] [--budget 10] [--repeats 20]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from ilm_core import Feedback, RoundContext, Teacher, TeacherContext, build_environment, default_registry, resolve


def episode(teacher: Teacher, students: int, rounds: int, budget: int, rng: random.Random, index: int) -> float:
    """Seconds of the teacher's part of one episode: every round's select(), then learn()."""
    sizes = [budget // rounds + (1 if k < budget % rounds else 0) for k in range(rounds)]
    sent: list[list[int]] = [[] for _ in range(students)]
    history: list[list[Feedback]] = []
    start = time.perf_counter()
    for k, size in enumerate(sizes):
        context = RoundContext(
            episode=index, round=k, rounds=rounds, size=size, n_students=students,
            sent=[list(s) for s in sent], feedback=list(history),
        )  # fmt: skip
        lessons = teacher.select(context)
        for lesson in lessons:
            sent[lesson.student] += lesson.indices
        history.append(
            [
                Feedback(
                    student=i, lesson=lesson.model_copy(update={"indices": sent[i]}), perplexity=rng.uniform(10, 20)
                )
                for i, lesson in enumerate(lessons)
            ]
        )
    teacher.learn(history[-1])
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--budget", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    registry = default_registry()
    config = resolve({"environment": {"name": "domains", "params": {"goals": True}}}, registry)
    data = build_environment(config, registry)
    teachers: dict[str, Teacher] = {}
    for name in ("select-bin", "feedback-bin"):
        teacher: Teacher = registry.build("teacher", name, {})
        context = TeacherContext.of(data, budget=args.budget, n_students=args.students, seed=1)
        teacher.context = context
        teacher.setup(context)
        teachers[name] = teacher
    rng = random.Random(0)
    times: dict[str, list[float]] = {name: [] for name in teachers}
    for repeat in range(args.repeats + 1):  # the first is a warm-up
        for name, teacher in teachers.items():
            seconds = episode(teacher, args.students, args.rounds, args.budget, rng, repeat)
            if repeat:
                times[name].append(seconds)
    ratios = [f / s for f, s in zip(times["feedback-bin"], times["select-bin"], strict=True)]
    print(f"{args.students} students, {args.rounds} rounds, budget {args.budget}, pool {len(data.pool)}:")
    for name, got in times.items():
        print(f"  {name:13s} {1000 * statistics.median(got):7.2f} ms per episode (median of {args.repeats})")
    print(f"  feedback-bin / select-bin: {statistics.median(ratios):.2f}x")


if __name__ == "__main__":
    main()
