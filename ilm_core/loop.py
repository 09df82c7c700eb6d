"""The episode loop: environment -> teacher -> (interaction: lessons, students, exam, feedback).

The loop owns everything a plugin must not be trusted with: validating lessons, keeping the
held-out exam away from teachers, the divergence policy, metrics, checkpoints and resume.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ilm_core import seeding, threads
from ilm_core.cache import SetupCache
from ilm_core.config import ExperimentConfig
from ilm_core.errors import ConfigError, IlmError, PluginError, RunDirError, StudentDivergedError
from ilm_core.guard import Guarded
from ilm_core.interfaces import (
    Exam,
    Executor,
    ExecutorContext,
    Interaction,
    RoundContext,
    RoundResult,
    SetupTools,
    Teacher,
    TeacherContext,
)
from ilm_core.measures import overlaps
from ilm_core.messages import (
    ComponentRef,
    EnvironmentData,
    EpisodeRecord,
    ExamResult,
    Feedback,
    InteractionOutcome,
    Lesson,
    Round,
    StudentReport,
    TeacherUpdate,
    TrainingJob,
)
from ilm_core.progress import Steps
from ilm_core.protocol import plan_of
from ilm_core.registry import Registry
from ilm_core.reporting import LAST, last_mean
from ilm_core.rundir import SUMMARY, RunDir


@dataclass
class RunInfo:
    """What lifecycle hooks see of a run."""

    config: ExperimentConfig
    run_dir: RunDir
    first_episode: int
    executor: str
    environment: EnvironmentData


def _fingerprint(data: EnvironmentData) -> str:
    return hashlib.sha256(data.model_dump_json().encode()).hexdigest()[:16]


def build_environment(config: ExperimentConfig, registry: Registry) -> EnvironmentData:
    """Build and check the environment's data sets (disjoint, budget fits the pool)."""
    name = config.environment.name
    env = Guarded(registry.build("environment", name, config.environment.params), "environment", name)
    try:
        data = env.build(seeding.derive(config.seed, "environment"))
        if not isinstance(data, EnvironmentData):
            data = EnvironmentData.model_validate(data)
    except PluginError:
        raise
    except Exception as exc:
        raise PluginError(f"environment plugin '{name}' built invalid data: {exc}", plugin=name, stage="build") from exc
    clashes = data.overlaps()
    if clashes:
        raise ConfigError(
            f"environment '{name}' (params {config.environment.params}) built data sets that are "
            f"not disjoint: {'; '.join(clashes)}. The teacher corpus, pool, exam, exam bank and "
            "held-out exam must not share sentences, or the exam no longer measures unseen language."
        )
    if config.budget > len(data.pool):
        raise ConfigError(
            f"budget = {config.budget} is larger than the pool of {len(data.pool)} sentences that "
            f"environment '{name}' built; choose a budget between 1 and {len(data.pool)}"
        )
    return data


def build_teacher(config: ExperimentConfig, registry: Registry) -> Teacher:
    """The config's teacher plugin, guarded so that its errors name it (not yet set up)."""
    teacher = registry.build("teacher", config.teacher.name, config.teacher.params)
    return Guarded(teacher, "teacher", config.teacher.name)  # type: ignore[return-value]


def setup_teacher(
    teacher: Teacher, config: ExperimentConfig, data: EnvironmentData, tools: SetupTools | None = None
) -> None:
    """Give the teacher what it may know of the run (never the exams), its own seed and the set-up tools."""
    teacher.setup(
        TeacherContext.of(
            data,
            budget=config.budget,
            n_students=config.students,
            seed=seeding.derive(config.seed, "teacher"),
            device=config.device,
            episodes=config.episodes,
            tools=tools,
        )
    )


def check_environment(state: dict[str, Any], path: Any, data: EnvironmentData) -> None:
    """A checkpoint is only valid for the data it was trained on: refuse one from other data."""
    env = state.get("environment", {})
    if env.get("fingerprint") != _fingerprint(data):
        raise RunDirError(
            f"checkpoint {path} was written for a different environment "
            f"({env.get('name')}, fingerprint {env.get('fingerprint')}); the environment "
            "plugin now builds other data. Reinstall the version the run used, or start a new run."
        )


class Experiment:
    """One teacher trained over episodes, writing into a run directory."""

    def __init__(
        self,
        config: ExperimentConfig,
        registry: Registry,
        run_dir: RunDir,
        notify: Callable[[str], None] = lambda message: None,
        steps: Steps | None = None,
        cache: SetupCache | None = None,
    ):
        self.config = config
        self.registry = registry
        self.run_dir = run_dir
        self.notify = notify
        #: set-up as the plugins see it: progress steps (timed), the set-up cache, notices
        self.tools = SetupTools(
            steps=steps or Steps(), cache=cache or SetupCache.from_env(notify=notify), notify=notify
        )
        #: set by run(resume=True) when the run had already finished every episode
        self.complete = False

    # -- set-up ----------------------------------------------------------------------------
    def _build(self) -> None:
        cfg, reg, steps = self.config, self.registry, self.tools.steps
        threads.apply()  # the process's thread plan, if its entry point made one
        with steps.step("building the environment"):
            self.data = build_environment(cfg, reg)
        self.teacher = build_teacher(cfg, reg)
        self.interaction: Interaction = Guarded(
            reg.build("interaction", cfg.interaction.name, cfg.interaction.params), "interaction", cfg.interaction.name
        )  # type: ignore[assignment]
        self.exam: Exam = Guarded(reg.build("exam", cfg.exam.name, cfg.exam.params), "exam", cfg.exam.name)  # type: ignore[assignment]
        executor: Executor = reg.build("executor", cfg.executor.name, cfg.executor.params)
        try:
            with steps.step("starting the executor"):
                executor.prepare(
                    ExecutorContext(
                        registry=reg,
                        student=ComponentRef(**cfg.student.model_dump()),
                        n_students=cfg.students,
                        device=cfg.device,
                        notify=self.notify,
                    )
                )
        except IlmError:
            raise
        except Exception as exc:
            raise PluginError(
                f"executor plugin '{cfg.executor.name}' failed to start: {type(exc).__name__}: {exc}",
                plugin=cfg.executor.name,
                stage="prepare",
            ) from exc
        self.executor: Executor = Guarded(executor, "executor", cfg.executor.name)  # type: ignore[assignment]
        # the student plugin is checked here so a missing extra fails before any training
        reg.build("student", cfg.student.name, cfg.student.params)
        with steps.step("setting up the teacher"):
            setup_teacher(self.teacher, cfg, self.data, self.tools)
        self.interaction.setup(
            TeacherContext.of(
                self.data,
                budget=cfg.budget,
                n_students=cfg.students,
                seed=seeding.derive(cfg.seed, "interaction"),
                device=cfg.device,
                episodes=cfg.episodes,
                tools=self.tools,
            )
        )

    # -- one episode -----------------------------------------------------------------------
    def _check_lessons(self, lessons: list[Lesson], rnd: Round, k: int, sent: list[list[int]]) -> None:
        cfg, name = self.config, self.config.teacher.name
        pool = len(self.data.pool)
        allows = f"the budget allows 1 to {cfg.budget}" if len(self.plan) == 1 else f"round {k} allows 1 to {rnd.size}"

        def fail(msg: str) -> None:
            raise PluginError(f"teacher plugin '{name}' sent an invalid lesson: {msg}", plugin=name, stage="select")

        if not isinstance(lessons, list) or len(lessons) != cfg.students:
            got = len(lessons) if isinstance(lessons, list) else type(lessons).__name__
            fail(f"expected {cfg.students} lessons (one per student), got {got}")
        for i, lesson in enumerate(lessons):
            if not isinstance(lesson, Lesson):
                fail(f"lesson {i} is a {type(lesson).__name__}, not an ilm_core.messages.Lesson")
            idx = lesson.indices
            if not 1 <= len(idx) <= rnd.size:
                fail(f"lesson {i} has {len(idx)} sentences; {allows}")
            if len(set(idx)) != len(idx):
                fail(f"lesson {i} repeats a sentence: {idx}")
            bad = [j for j in idx if not 0 <= j < pool]
            if bad:
                fail(f"lesson {i} has index {bad[0]}, outside the pool 0..{pool - 1}")
            again = sorted(set(idx) & set(sent[i]))
            if again and not rnd.repeats:
                fail(f"round {k} resends to student {i} sentence(s) {again} it got in an earlier round of the episode")

    def _cohort(self, episode: int) -> str | None:
        """Under which name the executor keeps this episode's students (None: it need not)."""
        if self.config.student_lifetime == "run":
            return "run"
        return f"episode-{episode}" if len(self.plan) > 1 else None

    def _seeds(self, episode: int) -> list[int]:
        cfg = self.config
        born = 0 if cfg.student_lifetime == "run" else episode  # students of a run are made in its first episode
        return [
            seeding.derive(cfg.seed, "student", born, 0 if cfg.student_init == "shared" else i)
            for i in range(cfg.students)
        ]

    def _episode(self, episode: int) -> EpisodeRecord:
        cfg, data = self.config, self.data
        start = time.perf_counter()
        import torch

        torch.manual_seed(seeding.derive(cfg.seed, "episode", episode))
        feedback_items = self.exam.feedback_items(
            list(data.exam), list(data.exam_bank), episode, seeding.derive(cfg.seed, "exam", episode)
        )
        cohort, seeds, n = self._cohort(episode), self._seeds(episode), cfg.students
        sent: list[list[int]] = [[] for _ in range(n)]
        used: list[list[int]] = [[] for _ in range(n)]
        totals: list[dict[str, float]] = [{} for _ in range(n)]
        history: list[list[Feedback]] = []
        stats: dict[str, float] = {}
        rounds: list[dict[str, Any]] = []
        reports: list[StudentReport] = []
        feedback: list[Feedback] = []
        for k, rnd in enumerate(self.plan):
            context = RoundContext(
                episode=episode,
                round=k,
                rounds=len(self.plan),
                size=rnd.size,
                n_students=n,
                sent=[list(s) for s in sent],
                feedback=list(history),
                repeats=rnd.repeats,
            )
            lessons = self.teacher.select_round(context)
            self._check_lessons(lessons, rnd, k, sent)
            final = rnd.exam == "final"
            exams = {}
            if rnd.exam != "none":
                exams["feedback"] = feedback_items
                if final and data.heldout_exam:
                    exams["heldout"] = data.heldout_exam
            job = TrainingJob(
                student=ComponentRef(**cfg.student.model_dump()),
                exam=ComponentRef(**cfg.exam.model_dump()),
                vocab_size=len(data.vocabulary),
                lessons=[[data.pool[j] for j in lesson.indices] for lesson in lessons],
                seeds=seeds,
                exams=exams,
                cohort=cohort,
                release=final and cohort is not None and cfg.student_lifetime == "episode",
                probe=rnd.probe,
                probe_seeds=[seeding.derive(cfg.seed, "probe", episode, k, i) for i in range(n)] if rnd.probe else [],
            )
            got = self.executor.run(job)
            if exams:
                got = self._apply_divergence_policy(got, episode)
            for i, lesson in enumerate(lessons):
                sent[i] += lesson.indices
            for r in got:
                picked = lessons[r.student].indices
                used[r.student] += picked if r.used is None else [picked[p] for p in r.used]
                for key, value in r.stats.items():
                    totals[r.student][key] = totals[r.student].get(key, 0.0) + value
            so_far = [Lesson(student=i, indices=list(sent[i])) for i in range(n)]
            feedback = []
            if exams or rnd.probe:
                # the interaction (and through it the teacher) sees the feedback exam only
                visible = [
                    r.model_copy(update={"exams": {k2: v for k2, v in r.exams.items() if k2 == "feedback"}})
                    for r in got
                ]
                feedback = self.interaction.feedback(
                    RoundResult(episode=episode, round=k, plan=rnd, lessons=so_far, sent=list(lessons), reports=visible)
                )
                self._check_feedback(feedback, k)
                history.append(feedback)
                if rnd.reward:
                    stats.update(self.teacher.learn(feedback).stats)
            rounds.append(self._round_entry(k, rnd, lessons, got, feedback))
            reports = got
        outcome = InteractionOutcome(
            lessons=[Lesson(student=i, indices=list(sent[i])) for i in range(n)],
            feedback=feedback,
            reports=reports,
            teacher=TeacherUpdate(stats=stats),
        )
        record = self._record(episode, outcome, feedback_items, time.perf_counter() - start)
        extras: dict[str, list[float | None]] = {}
        if any(u != s for u, s in zip(used, sent, strict=True)):
            extras["fraction_exam_domain_used"] = [
                statistics.fmean(data.pool_in_exam_domain[j] for j in u) if u else None for u in used
            ]
            extras["sentences_used"] = [float(len(u)) for u in used]
        for key in sorted({key for t in totals for key in t}):
            extras[key] = [t.get(key) for t in totals]
        # the paper's protocol (one round, its exam score as the feedback) keeps its record's shape
        plain = len(rounds) == 1 and rounds[0].get("feedback_mean") == rounds[0].get("perplexity_mean")
        if extras or not plain:
            record = record.model_copy(
                update={"per_student": {**record.per_student, **extras}, "rounds": [] if plain else rounds}
            )
        return record

    def _check_feedback(self, feedback: list[Feedback], k: int) -> None:
        name = self.config.interaction.name
        if not isinstance(feedback, list) or not all(isinstance(f, Feedback) for f in feedback):
            raise PluginError(
                f"interaction plugin '{name}' built feedback for round {k} that is not a list of ilm_core.Feedback",
                plugin=name,
                stage="feedback",
            )

    def _round_entry(
        self, k: int, rnd: Round, lessons: list[Lesson], reports: list[StudentReport], feedback: list[Feedback]
    ) -> dict[str, Any]:
        """What the record keeps of one round of a several-round episode."""
        inside = self.data.pool_in_exam_domain
        entry: dict[str, Any] = {
            "round": k,
            "size": rnd.size,
            "exam": rnd.exam,
            "reward": rnd.reward,
            "fraction_exam_domain": statistics.fmean(inside[j] for lesson in lessons for j in lesson.indices),
        }
        ppl = [r.exams["feedback"].perplexity for r in reports if "feedback" in r.exams]
        if ppl:
            entry["perplexity_mean"] = statistics.fmean(ppl)
        if feedback:
            entry["feedback_mean"] = statistics.fmean(f.score for f in feedback)
        return entry

    def _apply_divergence_policy(self, reports: list[StudentReport], episode: int) -> list[StudentReport]:
        diverged = [r for r in reports if r.diverged]
        if not diverged:
            return reports
        ids = ", ".join(str(r.student) for r in diverged)
        finite = [r.exams["feedback"].perplexity for r in reports if not r.diverged]
        lr = self.config.student.params.get("lr")
        lower = (
            f"Lower the student's learning rate (student.lr = {lr})"
            if lr is not None
            else "Lower the student's learning rate"
        )
        if self.config.on_diverged == "stop":
            raise StudentDivergedError(
                f"episode {episode}: student(s) {ids} diverged (training loss or exam perplexity NaN/inf) "
                f"and on_diverged='stop' ends the run. {lower}, or set on_diverged='worst' to score "
                "diverged students as the episode's worst."
            )
        if not finite:
            raise StudentDivergedError(
                f"episode {episode}: every student ({ids}) diverged (training loss or exam perplexity "
                "NaN/inf), so on_diverged='worst' has no finite score to give them and the run stops. "
                f"{lower}."
            )
        worst = max(finite)
        self.notify(f"episode {episode}: student(s) {ids} diverged; scored as the episode's worst ({worst:.4g})")
        fixed = []
        for r in reports:
            if r.diverged:
                exams = {
                    name: ExamResult(
                        perplexity=worst,
                        item_perplexities=[worst] * len(res.item_perplexities),
                        nll=math.nan,
                        tokens=res.tokens,
                    )
                    for name, res in r.exams.items()
                }
                r = r.model_copy(update={"exams": exams})
            fixed.append(r)
        return fixed

    def _record(
        self, episode: int, outcome: InteractionOutcome, feedback_items: list[list[int]], seconds: float
    ) -> EpisodeRecord:
        data, lessons, reports = self.data, outcome.lessons, outcome.reports
        ppl = [r.exams["feedback"].perplexity for r in reports]
        rewards = [-p for p in ppl]
        fractions = [statistics.fmean(data.pool_in_exam_domain[j] for j in lesson.indices) for lesson in lessons]
        taught = [[data.pool[j] for j in lesson.indices] for lesson in lessons]
        per_overlap = [overlaps(t, feedback_items) for t in taught]
        heldout = [r.exams["heldout"].perplexity for r in reports if "heldout" in r.exams]
        per_student: dict[str, list[float | None]] = {
            "perplexity": ppl,
            "fraction_exam_domain": fractions,
            "final_loss": [r.final_loss if math.isfinite(r.final_loss) else None for r in reports],
        }
        if heldout:
            per_student["heldout_perplexity"] = heldout
        for n in ("unigram", "bigram", "trigram"):
            per_student[f"overlap_{n}"] = [o[n] for o in per_overlap]
        stats = dict(outcome.teacher.stats)
        return EpisodeRecord(
            episode=episode,
            reward_mean=statistics.fmean(rewards),
            reward_std=statistics.pstdev(rewards),
            perplexity_mean=statistics.fmean(ppl),
            perplexity_std=statistics.pstdev(ppl),
            heldout_perplexity_mean=statistics.fmean(heldout) if heldout else None,
            heldout_perplexity_std=statistics.pstdev(heldout) if heldout else None,
            fraction_exam_domain=statistics.fmean(fractions),
            entropy=stats.pop("entropy", None),
            tokens_sent=sum(len(s) for t in taught for s in t),
            seconds=round(seconds, 4),
            diverged_students=sum(r.diverged for r in reports),
            overlap={k: statistics.fmean(o[k] for o in per_overlap) for k in ("unigram", "bigram", "trigram")},
            per_student=per_student,
            teacher=stats,
        )

    # -- the run ---------------------------------------------------------------------------
    def _checkpoint_state(self, completed: int) -> dict[str, Any]:
        return {
            "episode": completed,
            "teacher": self.teacher.state_dict(),
            "rng": seeding.rng_state(),
            **({"students": self.executor.save_students("run")} if self.config.student_lifetime == "run" else {}),
            "environment": {
                "name": self.config.environment.name,
                "params": self.config.environment.params,
                "fingerprint": _fingerprint(self.data),
            },
        }

    def run(self, resume: bool = False, observers: list[Any] = ()) -> dict[str, Any]:  # type: ignore[assignment]
        """Run (or resume) the experiment; returns the summary also written to summary.json."""
        rd = self.run_dir
        if resume:
            rd.read_config()  # fails clearly, before anything is created, when it is not a run
        self.plan = plan_of(self.config, self.registry)  # a plan the config cannot serve: nothing created
        rd.create()
        rd.lock()
        try:
            for obs in observers:
                self.registry.pm.register(obs)
            try:
                return self._run_locked(resume)
            finally:
                for obs in observers:
                    self.registry.pm.unregister(obs)
                self._close_executor()
        finally:
            rd.unlock()

    def _close_executor(self) -> None:
        """Close the executor; a failure here must not hide the error that ended the run."""
        executor = getattr(self, "executor", None)
        if executor is None:
            return
        try:
            executor.close()
        except IlmError as exc:
            self.notify(str(exc))

    def _refuse_overwrite(self) -> None:
        """A fresh run must never silently replace the finished episodes of another run."""
        rd = self.run_dir
        if not rd.has_episodes():
            return
        try:
            done = f"{len(rd.read_metrics())} finished episode(s)"
        except IlmError:
            done = "finished episodes"
        state = "a finished run" if (rd.path / SUMMARY).is_file() else "a partial run"
        raise RunDirError(
            f"{rd.path} already holds {state} ({done}); ilm does not overwrite it. Continue it with "
            f"`ilm run --resume {rd.path}`, or choose another --out directory."
        )

    def _run_locked(self, resume: bool) -> dict[str, Any]:
        rd, cfg = self.run_dir, self.config
        rd.remove_stale_temp_files()
        resolved = cfg.model_dump(mode="json")
        first = 0
        pending: list[dict[str, Any]] = []  # records of episodes after the checkpoint (resume)
        if not resume:
            self._refuse_overwrite()
        if resume:
            from ilm_core.config import config_diff

            saved = rd.read_config()
            diffs = config_diff(saved, resolved)
            if diffs:
                raise ConfigError(
                    f"--resume {rd.path}: the config differs from the one the run was started with: "
                    + "; ".join(diffs)
                    + ". Resume with the same config (omit --config/--set), or start a new run."
                )
            records = rd.read_metrics(self.notify)
            summary_path = rd.path / SUMMARY
            if len(records) >= cfg.episodes and summary_path.is_file():
                try:
                    summary = json.loads(summary_path.read_text())
                except ValueError:
                    summary = None  # damaged: the resume below writes it again
                if isinstance(summary, dict):
                    self.complete = True
                    self.notify(f"{rd.path} is already complete ({cfg.episodes} of {cfg.episodes} episodes)")
                    return summary
        else:
            rd.write_config(resolved)
        setup_start = time.perf_counter()
        self._build()
        setup_seconds = time.perf_counter() - setup_start
        if resume:
            loaded = rd.load_checkpoint(self.notify, max_episode=len(records))
            if loaded is not None:
                state, path = loaded
                check_environment(state, path, self.data)
                self.teacher.load_state_dict(state["teacher"])
                if cfg.student_lifetime == "run" and "students" in state:
                    self.executor.load_students("run", state["students"])
                seeding.set_rng_state(state.get("rng") or {"torch": state.get("torch_rng")})
                first = int(state["episode"])
                self.notify(f"resuming {rd.path} after episode {first} (checkpoint {path.name})")
            # only a torn last line goes; episodes finished after the checkpoint are repeated to
            # rebuild the teacher's state, and their records are kept when the repeat matches
            rd.keep_metrics(len(records), None, records)
            pending = records[first:]
            if pending:
                self.notify(
                    f"repeating episode(s) {first}-{first + len(pending) - 1}, finished after the checkpoint, "
                    "to restore the teacher's state; their records in metrics.jsonl are kept"
                )
        elif rd.metrics_path.exists():
            rd.keep_metrics(0)
        info = RunInfo(
            config=cfg,
            run_dir=rd,
            first_episode=first,
            executor=getattr(self.executor, "description", "") or cfg.executor.name,
            environment=self.data,
        )
        self.registry.pm.hook.ilm_run_start(run=info)
        for episode in range(first, cfg.episodes):
            try:
                record = self._episode(episode)
            except IlmError as exc:
                _in_episode(exc, episode, episode + len(pending), rd)
                raise
            if pending:
                kept = pending.pop(0)
                if not _same_record(kept, record.to_json()):
                    self.notify(
                        f"episode {episode} repeated after the checkpoint differs from its record in "
                        f"{rd.metrics_path} (a plugin is not deterministic); replacing the records from episode "
                        f"{episode} on"
                    )
                    rd.keep_metrics(episode)
                    pending.clear()
                    rd.append_metric(record.to_json())
            else:
                rd.append_metric(record.to_json())
            completed = episode + 1
            if completed % cfg.checkpoint_every == 0 or completed == cfg.episodes:
                rd.save_checkpoint(completed, self._checkpoint_state(completed), cfg.keep_checkpoints)
            self.registry.pm.hook.ilm_episode_end(run=info, record=record)
        summary = summarise(rd.read_metrics(), cfg)
        summary["executor"] = info.executor
        summary["setup_seconds"] = round(setup_seconds, 3)  # this invocation's set-up (a resume's own)
        summary["setup"] = dict(self.tools.steps.timings)
        summary["threads"] = dataclasses.asdict(threads.current())
        rd.write_summary(summary)
        self.registry.pm.hook.ilm_run_end(run=info, summary=summary)
        return summary


def _same_record(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Equal in everything but the wall-clock seconds (compared as JSON, so NaN equals NaN)."""

    def text(r: dict[str, Any]) -> str:
        return json.dumps({k: v for k, v in r.items() if k != "seconds"}, sort_keys=True)

    return text(a) == text(b)


def _in_episode(exc: IlmError, episode: int, done: int, rd: RunDir) -> None:
    """Add to an error where the run stopped and how to continue it (same type, same fields)."""
    saved = f"episodes 0-{done - 1} are saved in {rd.metrics_path}" if done else "no episode had finished"
    if isinstance(exc, PluginError):
        then = f"Fix the plugin, then continue with `ilm run --resume {rd.path}`."
    else:  # the same config would fail the same way: resuming cannot change it
        then = "The same config fails the same way again; start a new run (another --out) with it changed."
    exc.args = (f"{exc} (The run stopped in episode {episode}; {saved}. {then})",)


def summarise(records: list[dict[str, Any]], config: ExperimentConfig) -> dict[str, Any]:
    """Figures over the whole run and its last 10 episodes."""
    tail = records[-LAST:]
    return {
        "episodes": len(records),
        "seed": config.seed,
        "environment": config.environment.name,
        "teacher": config.teacher.name,
        "students": config.students,
        "seconds": round(sum(r["seconds"] for r in records), 3),
        "last_episodes": len(tail),
        "fraction_exam_domain_last": last_mean(records, "fraction_exam_domain"),
        "perplexity_last": last_mean(records, "perplexity_mean"),
        "heldout_perplexity_last": last_mean(records, "heldout_perplexity_mean"),
        "reward_last": last_mean(records, "reward_mean"),
        "fraction_exam_domain_first": records[0]["fraction_exam_domain"] if records else None,
        "config_sha": hashlib.sha256(json.dumps(config.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()[
            :12
        ],
    }
