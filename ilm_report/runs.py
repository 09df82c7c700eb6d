"""Reading run directories back: group runs into settings, aggregate over seeds, flag runs
that were taught to the test. Everything here works from run directories alone."""

from __future__ import annotations

import functools
import json
import math
import re
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ilm_core.errors import IlmError, RunDirError
from ilm_core.rundir import SUMMARY, RunDir
from ilm_core.summary import LAST, ROLE_KEYS, last_mean, teacher_role

#: config fields that do not define a setting (runs differing only here are seeds of one setting)
NOT_A_SETTING = ("seed", "device", "executor", "checkpoint_every", "keep_checkpoints", "trackers", "measures")


@dataclass
class Run:
    path: Path
    config: dict[str, Any]
    records: list[dict[str, Any]]

    @property
    def seed(self) -> int:
        return int(self.config["seed"])

    @property
    def teacher(self) -> str:
        name: str = self.config["teacher"]["name"]
        return name

    def last(self, key: str, n: int = LAST) -> float | None:
        return last_mean(self.records, key, n)

    @functools.cached_property
    def role(self) -> dict[str, Any]:
        """The teacher's role as summary.json recorded it (its record's, for a run not yet finished)."""
        try:
            summary = json.loads((self.path / SUMMARY).read_text())
        except (OSError, ValueError):
            summary = None
        if isinstance(summary, dict) and "teacher_role" in summary:
            return {key: summary.get(key) for key in ROLE_KEYS}
        return declared_role(self.teacher)

    def is_reference(self, rank: str | None = None) -> bool:
        """Whether a reference teacher ran it (of `rank`, when given)."""
        return self.role["teacher_role"] == "reference" and rank in (None, self.role["reference_rank"])

    def env_key(self) -> str:
        """Identity of the environment and exam (what an oracle baseline must share)."""
        return json.dumps([self.config["environment"], self.config["exam"], self.config["student"]], sort_keys=True)


def load_run(path: Path) -> Run:
    rd = RunDir(path)
    if not rd.is_run():
        raise RunDirError(f"{path} is not an ilm run directory (no config.json); pass directories written by `ilm run`")
    records = rd.read_metrics()
    if not records:
        raise RunDirError(f"{path} has no finished episode yet (metrics.jsonl is empty)")
    return Run(path=Path(path), config=_checked_config(rd), records=records)


#: what reading a run back needs from its config.json (every run written by ilm has them)
NEEDED = ("seed", "environment", "teacher", "student", "exam")


def _checked_config(rd: RunDir) -> dict[str, Any]:
    config = rd.read_config()
    missing = [key for key in NEEDED if key not in config]
    bad = [k for k in NEEDED[1:] if k in config and not (isinstance(config[k], dict) and "name" in config[k])]
    if missing or bad or not isinstance(config.get("seed"), int):
        what = f"lacks {', '.join(repr(k) for k in missing)}" if missing else "is damaged"
        detail = f" ({', '.join(repr(k) for k in bad)} must be a table with a name)" if bad else ""
        raise RunDirError(
            f"{rd.path / 'config.json'} {what}{detail}: a run's config.json holds the whole resolved config "
            f"({', '.join(NEEDED)}, ...), so this one was edited by hand or by another tool. Restore it, or "
            "leave this run out of the report."
        )
    return config


def find_runs(paths: list[Path]) -> list[Run]:
    """Run directories given directly, or found below the given folders (e.g. a sweep)."""
    runs = []
    for path in paths:
        path = Path(path)
        if RunDir(path).is_run():
            runs.append(load_run(path))
            continue
        found = sorted(p.parent for p in path.rglob("config.json") if (p.parent / "metrics.jsonl").exists())
        if not found:
            raise RunDirError(f"{path} is not a run directory and holds none")
        runs.extend(load_run(p) for p in found)
    return runs


def setting_of(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k not in NOT_A_SETTING}


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def label_settings(settings: list[dict[str, Any]]) -> list[str]:
    """Short labels: only the fields in which the settings differ (e.g. 'n_students=4')."""
    flat = [_flatten(s) for s in settings]
    keys = sorted({k for f in flat for k in f})
    varying = [k for k in keys if len({json.dumps(f.get(k), sort_keys=True) for f in flat}) > 1]
    if len(varying) > 1 and "episodes" in varying:  # reference runs are shorter; not a setting
        varying.remove("episodes")

    def shown(key: str, f: dict[str, Any]) -> bool:
        """A plugin's param is shown only where it varies among runs of that same plugin."""
        kind, sep, _ = key.partition(".params.")
        if not sep:
            return True
        same = [g for g in flat if g.get(f"{kind}.name") == f.get(f"{kind}.name")]
        return len({json.dumps(g.get(key), sort_keys=True) for g in same}) > 1

    labels = []
    for f in flat:
        parts = [f"{k.replace('.params.', '.').replace('.name', '')}={f.get(k)}" for k in varying if shown(k, f)]
        labels.append(", ".join(parts) or f"{f.get('environment.name')}/{f.get('teacher.name')}")
    return labels


@dataclass
class Setting:
    label: str
    config: dict[str, Any]
    runs: list[Run] = field(default_factory=list)

    def curve(self, key: str | tuple[str, ...]) -> tuple[list[float], list[float]]:
        """Mean and std over seeds of `key` per episode (up to the shortest run).

        A dotted key reads a nested value: "overlap.bigram"; a tuple is the path itself (for
        names that hold dots): ("components", "feedback/length 01-04").
        """
        n = min(len(r.records) for r in self.runs)
        means, stds = [], []
        for e in range(n):
            values = [_lookup(r.records[e], key) for r in self.runs]
            values = [v for v in values if v is not None and math.isfinite(v)]
            means.append(statistics.fmean(values) if values else math.nan)
            stds.append(statistics.pstdev(values) if len(values) > 1 else 0.0)
        return means, stds


def _lookup(record: dict[str, Any], key: str | tuple[str, ...]) -> Any:
    value: Any = record
    for part in key.split(".") if isinstance(key, str) else key:
        value = value.get(part) if isinstance(value, dict) else None
    return value


def group_settings(runs: list[Run]) -> list[Setting]:
    groups: dict[str, Setting] = {}
    for run in runs:
        key = json.dumps(setting_of(run.config), sort_keys=True)
        groups.setdefault(key, Setting(label="", config=setting_of(run.config))).runs.append(run)
    settings = list(groups.values())
    for s, label in zip(settings, label_settings([s.config for s in settings]), strict=True):
        s.label = label
    return sorted(settings, key=lambda s: _natural(s.label))


def _natural(text: str) -> list[Any]:
    """Sort key that puts 'n_students=2' before 'n_students=12'."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


# -- reference teachers: found by the role their record declares, never by name -------------
def declared_role(teacher: str) -> dict[str, Any]:
    """The role the installed teacher plugin `teacher` declares (a learner when none is installed)."""
    from ilm_core.registry import default_registry

    try:
        spec = default_registry().get("teacher", teacher)
    except IlmError:
        return {"teacher_role": "learner", "reference_rank": None, "privileged": False}
    return teacher_role(spec)


def oracle_baselines(runs: list[Run]) -> dict[tuple[str, int], Run]:
    """Runs of the best reference teacher (the paper's oracle) by (environment/exam/student identity, seed)."""
    return {(r.env_key(), r.seed): r for r in runs if r.is_reference("best")}


def privileged_teachers(runs: list[Run]) -> list[str]:
    """Names of the privileged reference teachers (they read the pool's labels) among `runs`."""
    return sorted({r.teacher for r in runs if r.role["privileged"]})


#: how much worse than the oracle's a held-out perplexity must be to count as "does not beat it"
#: (5%: the spread of the oracle's own held-out score across seeds; below that is noise)
HELDOUT_TOLERANCE = 0.05


def taught_to_the_test(run: Run, oracle: Run, tolerance: float = HELDOUT_TOLERANCE) -> bool | None:
    """True when the run's feedback score beats the oracle's while its held-out score does not.

    Compares the last 10 episodes of `run` with all episodes of the oracle run: flagged when
    the feedback perplexity is below the oracle's and the held-out perplexity is more than
    `tolerance` above the oracle's. None when a held-out score is missing.
    """
    fb, ho = run.last("perplexity_mean"), run.last("heldout_perplexity_mean")
    ofb, oho = oracle.last("perplexity_mean", 10**9), oracle.last("heldout_perplexity_mean", 10**9)
    if None in (fb, ho, ofb, oho):
        return None
    return fb < ofb and ho > oho * (1 + tolerance)  # type: ignore[operator]


def mean_std(values: Iterable[float | None]) -> tuple[float, float]:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return math.nan, math.nan
    return statistics.fmean(finite), statistics.pstdev(finite)


# -- multi-seed intervals: the mean over seeds with a 95% interval (docs/reproduction.md) --------
#: two-sided 95% quantiles of Student's t for 1..30 degrees of freedom (beyond: the normal's 1.96)
T95 = (
    *(12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131),
    *(2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042),
)


def mean_ci95(values: Iterable[float | None]) -> tuple[float, float]:
    """Mean over seeds and the half-width of its 95% t-interval: seeds are the unit of replication,
    so a figure over seeds is reported as mean ± this half-width (nan with fewer than two seeds)."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return math.nan, math.nan
    mean = statistics.fmean(finite)
    if len(finite) < 2:
        return mean, math.nan
    t = T95[len(finite) - 2] if len(finite) - 1 <= len(T95) else 1.96
    return mean, t * statistics.stdev(finite) / math.sqrt(len(finite))


# -- end of multi-seed intervals ------------------------------------------------------------------


#: measure values `ilm report` shows in its own columns and figures already
SHOWN_MEASURES = ("fraction_exam_domain",)


def measure_keys(runs: list[Run]) -> list[str]:
    """The numeric episode values that measure plugins wrote (top-level keys of metrics.jsonl that are
    not the core's), in the order first seen; those `ilm report` already shows are left out."""
    from ilm_core.messages import EpisodeRecord

    core = set(EpisodeRecord.model_fields) | set(SHOWN_MEASURES)
    keys: dict[str, None] = {}
    for run in runs:
        for record in run.records:
            for key, value in record.items():
                if key not in core and isinstance(value, int | float) and not isinstance(value, bool):
                    keys.setdefault(key)
    return list(keys)


def summary_rows(settings: list[Setting], oracles: dict[tuple[str, int], Run]) -> list[dict[str, Any]]:
    """One row per setting: last-10 figures, mean ± std over seeds, and the taught-to-the-test flag."""
    rows = []
    for s in settings:
        per_seed = []
        for run in s.runs:
            oracle = oracles.get((run.env_key(), run.seed))
            per_seed.append(
                {
                    "seed": run.seed,
                    "fraction": run.last("fraction_exam_domain"),
                    "feedback": run.last("perplexity_mean"),
                    "accuracy": run.last("accuracy_mean"),
                    "heldout": run.last("heldout_perplexity_mean"),
                    "oracle_heldout": oracle.last("heldout_perplexity_mean", 10**9) if oracle else None,
                    "taught_to_the_test": taught_to_the_test(run, oracle) if oracle and run is not oracle else None,
                    "episodes": len(run.records),
                }
            )
        row: dict[str, Any] = {"setting": s.label, "runs": len(s.runs), "teacher": s.config["teacher"]["name"]}
        row.update(s.runs[0].role)
        for key in ("fraction", "feedback", "heldout", "oracle_heldout"):
            row[key] = mean_std([p[key] for p in per_seed])
        row["ci95"] = {key: mean_ci95([p[key] for p in per_seed]) for key in ("fraction", "feedback", "heldout")}
        if any(p["accuracy"] is not None for p in per_seed):  # minimal pairs, or an exam without perplexity
            row["accuracy"] = mean_std([p["accuracy"] for p in per_seed])
        else:
            for p in per_seed:
                del p["accuracy"]
        row["measures"] = {key: mean_std([run.last(key) for run in s.runs]) for key in measure_keys(s.runs)}
        row["taught_to_the_test"] = [p["seed"] for p in per_seed if p["taught_to_the_test"]]
        row["per_seed"] = per_seed
        rows.append(row)
    return rows
