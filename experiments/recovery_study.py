"""Do LSTM students recover from a first round of off-goal lessons? A controlled test of the
feedback study's reading that they make less of a lesson whose first round was a probe.

The hidden-goal task with two kinds of students (configs/hidden-goals-mixed.toml: 6 Transformer
and 6 LSTM students, 3 rounds of 4, 3 and 3 sentences) taught by privileged reference teachers
that know each student's goal:

- `oracle`: every round serves the student's own goal (10 of 10 sentences);
- `wrong-first`: the first round serves the other goal, rounds 2-3 the student's own (6 of 10);
- `random-first`: the first round is drawn from the whole pool, rounds 2-3 serve the student's
  own goal (about 8 of 10).

feedback-bin's probe round gives half the students the wrong side and half the right side, so
a student that listening serves well sits between `wrong-first` and `oracle`. The runs are kept
under OUT (resumable: finished runs are skipped) and the table gives the held-out perplexity
(mean over the run's episodes, then mean ± 95% t-interval over the seeds) per kind of student.

    python experiments/recovery_study.py [OUT] [--seeds 6639,7519,...] [--episodes 20]
"""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path
from typing import Any

from feedback_study import run_values

from ilm_core import (
    Capability,
    Experiment,
    Lesson,
    NoParams,
    Registry,
    RoundContext,
    RunDir,
    TeacherContext,
    TeacherSpec,
    hookimpl,
    resolve,
)
from ilm_plugins.teachers.baselines import OracleTeacher, WorstCaseTeacher
from ilm_report.runs import mean_ci95

CONFIG = Path("configs/hidden-goals-mixed.toml")
SEEDS = "6639,7519,1007,4520,4527,101,102,103,104,105"


class FirstRoundTeacher(OracleTeacher):
    """The oracle from the second round on; in the first round, `first` decides what is sent."""

    first = "own"  # "own" (the oracle), "other" (the other goal) or "any" (the whole pool)

    def setup(self, context: TeacherContext) -> None:
        super().setup(context)  # self.by_goal: each goal's own sentences
        worst = WorstCaseTeacher()  # its subset per goal: the sentences that serve another goal
        self.other = {g: worst.allowed_for_goal(context, g) for g in self.by_goal}
        self.everything = list(range(len(context.pool)))

    def select(self, context: RoundContext) -> list[Lesson]:
        if context.round > 0 or self.first == "own":
            return super().select(context)
        lessons = []
        for i, goal in enumerate(context.goals):
            subset = self.other[goal] if self.first == "other" else self.everything
            lessons.append(Lesson(student=i, indices=self.rng.sample(subset, context.size)))
        return lessons


class WrongFirst(FirstRoundTeacher):
    first = "other"


class RandomFirst(FirstRoundTeacher):
    first = "any"


class Teachers:
    @hookimpl
    def ilm_teachers(self) -> Any:
        for name, factory in (("wrong-first", WrongFirst), ("random-first", RandomFirst)):
            yield TeacherSpec(
                name=name,
                summary=f"recovery study: {factory.first} sentences first, then the oracle's",
                factory=factory,
                params=NoParams,
                role="reference",
                capabilities=frozenset({Capability.PRIVILEGED}),
            )


def run(registry: Registry, base: dict[str, Any], teacher: str, seed: int, episodes: int, out: Path) -> Path:
    if not (out / "summary.json").is_file():
        raw = {**base, "teacher": {"name": teacher}, "seed": seed, "episodes": episodes}
        Experiment(resolve(raw, registry), registry, RunDir(out)).run()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, nargs="?", default=Path("runs/recovery-study"))
    parser.add_argument("--seeds", default=SEEDS, help=f"comma-separated (default {SEEDS})")
    parser.add_argument("--episodes", type=int, default=20, help="episodes a run (reference teachers do not learn)")
    args = parser.parse_args()
    registry = Registry.installed()
    registry.pm.register(Teachers())
    base = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    base.pop("description", None)
    seeds = [int(s) for s in args.seeds.split(",")]
    table: dict[str, dict[str, list[float]]] = {}
    for teacher in ("oracle", "random-first", "wrong-first"):
        for seed in seeds:
            done = run(registry, base, teacher, seed, args.episodes, args.out / teacher / f"seed-{seed}")
            for key, value in run_values(done, None).items():  # per population group, over all its episodes
                if key.startswith("heldout_"):
                    table.setdefault(teacher, {}).setdefault(key.removeprefix("heldout_"), []).append(value)
            print(f"{teacher} seed {seed}: " + ", ".join(f"{k} {v[-1]:.2f}" for k, v in table[teacher].items()))
    kinds = list(table["oracle"])
    print(f"\nheld-out perplexity, mean ± 95% interval over {len(seeds)} seeds ({args.episodes} episodes each)")
    print("| teacher | " + " | ".join(kinds) + " |")
    print("|---|" + "---|" * len(kinds))
    for teacher, by_kind in table.items():
        cells = [f"{m:.2f} ± {h:.2f}" for m, h in (mean_ci95(by_kind[k]) for k in kinds)]
        print(f"| {teacher} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
