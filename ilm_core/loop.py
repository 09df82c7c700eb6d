"""The episode loop: environment -> teacher -> (interaction: lessons, students, exam, feedback).

The loop owns everything a plugin must not be trusted with: validating lessons, keeping the
held-out exam away from teachers, the divergence policy, metrics, checkpoints and resume.
"""

from __future__ import annotations

import dataclasses
import math
import random
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ilm_core import process, seeding
from ilm_core.build import (
    build_environment,
    build_teacher,
    check_environment,
    environment_plugin,
    fingerprint,
    setup_teacher,
)
from ilm_core.cache import SetupCache
from ilm_core.config import ExperimentConfig
from ilm_core.errors import (
    ConfigError,
    IlmError,
    PluginError,
    StudentDivergedError,
    TeacherDivergedError,
)
from ilm_core.exam_figures import exam_scores, other_scores
from ilm_core.feedback_views import rewards_only, shuffled, with_losses
from ilm_core.guard import guard_plugin
from ilm_core.interfaces import (
    Exam,
    Executor,
    ExecutorContext,
    Interaction,
    RoundContext,
    RoundResult,
    SetupTools,
    TeacherContext,
    set_up,
)
from ilm_core.lessons import LessonRules, generated_counts, sentences_of, write_generated
from ilm_core.measures import Measured, build_measures, measure_episode
from ilm_core.messages import (
    ComponentRef,
    Direction,
    EpisodeRecord,
    EpisodeView,
    Feedback,
    InteractionOutcome,
    Lesson,
    Round,
    Sentence,
    StudentFeedback,
    StudentReport,
    TeacherUpdate,
    TrainingJob,
    reward_of,
)
from ilm_core.population import (
    load_students,
    members,
    prior_lesson,
    run_round,
    save_students,
)
from ilm_core.progress import Steps
from ilm_core.protocol import check_plan, plan_of
from ilm_core.records import ANSWERS_STUDENTS, ASKS_ENVIRONMENT
from ilm_core.registry import Registry
from ilm_core.report_check import check_reports
from ilm_core.rundir import RunDir
from ilm_core.signals import check as check_interrupted


@dataclass
class _EpisodeState:
    """What the loop keeps of an episode while its rounds run."""

    episode: int
    n: int
    feedback_items: list[list[int]]
    labels: Any  # the exam's labels of the feedback items (e.g. components), or empty
    evaluations: dict[str, Any]  # the exam's extra evaluations, taken after the final round
    cohort: str | None
    seeds: list[int]
    goals: list[str] | None = None  # each student's hidden goal (environments with goals)
    item_sets: dict[str, list[list[int]]] = field(default_factory=dict)  # per exam: each student's items
    heldout_items: list[list[int]] = field(default_factory=list)  # the held-out exam (all goals' with goals)
    sent: list[list[int]] = field(default_factory=list)  # pool indices each student received
    sent_by_round: list[list[Lesson]] = field(default_factory=list)  # each round's lessons
    written: list[list[list[int]]] = field(default_factory=list)  # generated sentences each received
    used: list[list[int]] = field(default_factory=list)  # pool indices each trained on
    totals: list[dict[str, float]] = field(default_factory=list)  # student stats summed over rounds
    history: list[list[Feedback]] = field(default_factory=list)
    stats: dict[str, float] = field(default_factory=dict)  # the teacher's, latest value of each
    rounds: list[dict[str, Any]] = field(default_factory=list)
    reports: list[StudentReport] = field(default_factory=list)  # of the last round
    result: RoundResult | None = None  # what the interaction saw of the last round (None: no exam, no probe)
    plan: list[Round] = field(default_factory=list)  # this episode's rounds, as the interaction revises them
    feedback: list[Feedback] = field(default_factory=list)  # of the last round
    told: list[StudentFeedback | None] = field(default_factory=list)  # for the students, with their next lesson

    def __post_init__(self) -> None:
        self.sent = [[] for _ in range(self.n)]
        self.written = [[] for _ in range(self.n)]
        self.used = [[] for _ in range(self.n)]
        self.totals = [{} for _ in range(self.n)]

    def so_far(self) -> list[Lesson]:
        """Everything each student has received in the episode."""
        return [
            Lesson(student=i, indices=list(s), sentences=list(w))
            for i, (s, w) in enumerate(zip(self.sent, self.written, strict=True))
        ]

    def add(self, lessons: list[Lesson], reports: list[StudentReport]) -> None:
        """A round's lessons and what the students did with them."""
        self.sent_by_round.append(list(lessons))
        for i, lesson in enumerate(lessons):
            self.sent[i] += lesson.indices
            self.written[i] += lesson.sentences
        for r in reports:
            picked = lessons[r.student].indices
            self.used[r.student] += picked if r.used is None else [picked[p] for p in r.used if p < len(picked)]
            for key, value in r.stats.items():
                self.totals[r.student][key] = self.totals[r.student].get(key, 0.0) + value


class Experiment:
    """One teacher trained over episodes: in memory (`episodes()`, step by step) or into a run
    directory (`run()`: checkpoints, resume, summary, watchers)."""

    def __init__(
        self,
        config: ExperimentConfig,
        registry: Registry,
        run_dir: RunDir | None = None,
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
        #: the episode under way (None before the first) and how many are in metrics.jsonl
        self.current_episode: int | None = None
        self.saved_episodes = 0

    # -- set-up ----------------------------------------------------------------------------
    def _build_environment(self) -> None:
        process.apply()  # the process set-up (the thread plan), if its entry point made one
        start = time.perf_counter()
        with self.tools.steps.step("building the environment"):
            self.environment = environment_plugin(self.config, self.registry)
            self.data = build_environment(self.config, self.registry, self.environment)
        self.environment_seconds = time.perf_counter() - start

    def _check_environment_needs(self) -> None:
        """What the config asks of the environment's data: the exam-domain labels for a privileged
        teacher or prior knowledge, and the measures set up for it (a new run: before its directory)."""
        cfg, env = self.config, self.config.environment.name
        if self.registry.get("teacher", cfg.teacher.name).privileged and not self.data.goals:
            self.data.require_labels(env, f"teacher '{cfg.teacher.name}' (a privileged reference)")
        for k, group in enumerate(cfg.population or []):
            if group.prior != "none":
                self.data.require_labels(env, f"population[{k}] ('{group.name}', prior = '{group.prior}')")
        self.measures = build_measures(cfg, self.registry, self.data, self.environment.label, self.notify)

    def _build(self) -> None:
        cfg, reg, steps = self.config, self.registry, self.tools.steps
        if not hasattr(self, "data"):  # a new run built it before making its directory
            self._build_environment()
        if not hasattr(self, "measures"):
            self._check_environment_needs()
        self.priors = {
            g.name: prior_lesson(g, self.data, seeding.derive(cfg.seed, "prior", k))
            for k, g in enumerate(cfg.population or [])
        }
        self.rules = LessonRules.of(
            self.data,
            teacher=cfg.teacher.name,
            n_students=cfg.n_students,
            budget=cfg.budget,
            max_length=self.environment.max_sentence_length(),
        )
        self.teacher = build_teacher(cfg, reg)
        self.privileged = reg.get("teacher", cfg.teacher.name).privileged
        interaction: Interaction = reg.build("interaction", cfg.interaction.name, cfg.interaction.params)
        capabilities = reg.get("interaction", cfg.interaction.name).capabilities
        self.answers_students = ANSWERS_STUDENTS in capabilities
        self.asks_environment = ASKS_ENVIRONMENT in capabilities
        if not hasattr(self, "carried"):
            #: what the interaction last told the students, carried into the next episode (students kept for the run)
            self.carried: list[StudentFeedback | None] = []
        self.interaction = guard_plugin(interaction, "interaction", cfg.interaction.name)
        exam: Exam = reg.build("exam", cfg.exam.name, cfg.exam.params)
        self.exam = guard_plugin(exam, "exam", cfg.exam.name)
        #: which way each score the exam may report is better (the core's known scores and the exam's own)
        self.directions = reg.get("exam", cfg.exam.name).directions()
        self.exam.attach(self.data)
        if self.run_dir is not None:
            self.run_dir.write_artifacts(self.data.artifacts)
        executor: Executor = reg.build("executor", cfg.executor.name, cfg.executor.params)
        try:
            with steps.step("starting the executor"):
                set_up(
                    executor,
                    ExecutorContext(
                        registry=reg,
                        student=ComponentRef(**cfg.student.model_dump()),
                        n_students=cfg.n_students,
                        device=cfg.device,
                        notify=self.notify,
                    ),
                )
        except IlmError:
            raise
        except Exception as exc:
            raise PluginError(
                f"executor plugin '{cfg.executor.name}' failed to start: {type(exc).__name__}: {exc}",
                plugin=cfg.executor.name,
                stage="prepare",
            ) from exc
        self.executor = guard_plugin(executor, "executor", cfg.executor.name)
        # the student plugin is checked here so a missing extra fails before any training
        reg.build("student", cfg.student.name, cfg.student.params)
        with steps.step("setting up the teacher"):
            setup_teacher(self.teacher, cfg, self.data, reg, self.tools)
        set_up(
            self.interaction,
            TeacherContext.of(
                self.data,
                budget=cfg.budget,
                n_students=cfg.n_students,
                seed=seeding.derive(cfg.seed, "interaction"),
                device=cfg.device,
                episodes=cfg.episodes,
                tools=self.tools,
            ),
        )

    # -- one episode -----------------------------------------------------------------------
    def _check_lessons(self, lessons: list[Lesson], rnd: Round, k: int, sent: list[list[int]]) -> None:
        cfg, name = self.config, self.config.teacher.name
        allows = (
            f"the budget allows 1 to {cfg.budget}"
            if len(self.plan) == 1
            else f"round {k} of {len(self.plan)} allows 1 to {rnd.size} (RoundContext.size); the core does not trim "
            "lessons: draw the round's size, or return ilm_core.fit_to_round(lessons, context)"
        )
        self.rules.check(lessons, size=rnd.size, allows=allows)
        for i, lesson in enumerate(lessons):
            again = sorted(set(lesson.indices) & set(sent[i]))
            if again and not rnd.repeats:
                raise PluginError(
                    f"teacher plugin '{name}' sent an invalid lesson: round {k} resends to student {i} sentence(s) "
                    f"{again} it got in an earlier round of the episode (RoundContext.sent; RoundContext.unsent lists "
                    "what it may still get)",
                    plugin=name,
                    stage="select",
                )

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
            for i in range(cfg.n_students)
        ]

    def _episode(self, episode: int) -> EpisodeRecord:
        cfg, data = self.config, self.data
        start = time.perf_counter()
        import torch

        torch.manual_seed(seeding.derive(cfg.seed, "episode", episode))
        ep = _EpisodeState(
            episode=episode,
            n=cfg.n_students,
            feedback_items=[],
            labels=None,
            evaluations=self.exam.evaluations(episode, seeding.derive(cfg.seed, "evaluation", episode)),
            cohort=self._cohort(episode),
            seeds=self._seeds(episode),
            heldout_items=list(data.heldout_exam),
            told=list(self.carried) if cfg.student_lifetime == "run" else [],
        )
        if data.goals:
            self._goal_exams(ep)
        else:
            ep.feedback_items = self.exam.feedback_items(
                list(data.exam), list(data.exam_bank), episode, seeding.derive(cfg.seed, "exam", episode)
            )
            ep.labels = self.exam.labels(ep.feedback_items)
        ep.plan = list(self.plan)
        k = 0
        while k < len(ep.plan):
            ep.result = None
            self._round(ep, k, ep.plan[k])
            if ep.result is not None and k + 1 < len(ep.plan):  # the interaction may decide what comes next
                ep.plan = ep.plan[: k + 1] + self._next_rounds(ep.result, ep.plan[k + 1 :], ep.plan[: k + 1])
            k += 1
        self.carried = list(ep.told) if cfg.student_lifetime == "run" else []
        outcome = InteractionOutcome(
            lessons=ep.so_far(), feedback=ep.feedback, reports=ep.reports, teacher=TeacherUpdate(stats=ep.stats)
        )
        view = EpisodeView(
            episode=ep.episode,
            lessons=outcome.lessons,
            taught=[sentences_of(lesson, self.data.pool) for lesson in outcome.lessons],
            rounds=ep.sent_by_round,
            used=ep.used,
            feedback_items=ep.feedback_items,
            reports=outcome.reports,
            feedback=outcome.feedback,
            goals=ep.goals,
        )
        measured = self._measure(view)
        extras = self._extras(ep)
        record = self._record(episode, outcome, view.taught, extras, measured, time.perf_counter() - start)
        for entry, values in zip(ep.rounds, measured.rounds, strict=False):  # no round values: none to add
            entry.update(values)
        # the paper's protocol (one round, its exam score as the feedback) keeps its record's shape
        head = ep.reports[0].exams["feedback"].headline
        plain = len(ep.rounds) == 1 and ep.rounds[0].get("feedback_mean") == ep.rounds[0].get(f"{head}_mean")
        return record if plain else record.model_copy(update={"rounds": ep.rounds})

    def _goal_exams(self, ep: _EpisodeState) -> None:
        """Hidden goals: each student gets one (balanced over the goals, shuffled per episode) and is
        examined on its goal's feedback and held-out exams only; the job's exams hold every goal's."""
        cfg, names = self.config, sorted(self.data.goals)
        goals = [names[i % len(names)] for i in range(ep.n)]
        random.Random(seeding.derive(cfg.seed, "goals", ep.episode)).shuffle(goals)
        ep.goals = goals
        feedback: list[list[int]] = []
        heldout: list[list[int]] = []
        labels: list[str] = []
        where: dict[str, tuple[list[int], list[int]]] = {}
        for k, name in enumerate(names):
            goal = self.data.goals[name]
            items = self.exam.feedback_items(
                list(goal.exam), list(goal.exam_bank), ep.episode, seeding.derive(cfg.seed, "exam", ep.episode, k)
            )
            labels += self.exam.labels(items) or []
            at = list(range(len(feedback), len(feedback) + len(items)))
            held = list(range(len(heldout), len(heldout) + len(goal.heldout_exam)))
            feedback += items
            heldout += goal.heldout_exam
            where[name] = (at, held)
        ep.feedback_items, ep.heldout_items = feedback, heldout
        ep.labels = labels if len(labels) == len(feedback) else None
        ep.item_sets = {"feedback": [where[g][0] for g in goals]}
        if heldout and all(where[g][1] for g in goals):
            ep.item_sets["heldout"] = [where[g][1] for g in goals]

    def _measure(self, view: EpisodeView) -> Measured:
        """The run's measures of a finished episode, merged; their notes shown to the user."""
        measured = measure_episode(self.measures, view)
        for note in dict.fromkeys(measured.notes):
            self.notify(f"episode {view.episode}: {note}")
        return measured

    def _round(self, ep: _EpisodeState, k: int, rnd: Round) -> None:
        """One round: lessons, training and exams, feedback, the teacher's update."""
        cfg, data = self.config, self.data
        withheld = cfg.teacher_feedback == "withheld"
        heard = list(ep.history)
        if cfg.teacher_feedback == "shuffled":
            heard = [
                shuffled(f, seeding.derive(cfg.seed, "shuffled-feedback", ep.episode, r)) for r, f in enumerate(heard)
            ]
        context = RoundContext(
            episode=ep.episode,
            round=k,
            rounds=len(ep.plan),
            size=rnd.size,
            n_students=ep.n,
            sent=[list(s) for s in ep.sent],
            feedback=[] if withheld else heard,
            repeats=rnd.repeats,
            feedback_withheld=withheld,
            hidden_goals=ep.goals is not None,
            privileged_goals=list(ep.goals) if ep.goals is not None and self.privileged else None,
        )
        lessons = self.teacher.select(context)
        self._check_lessons(lessons, rnd, k, ep.sent)
        tested = self._placement(context)
        job = self._job(ep, k, rnd, lessons)
        ep.told = []  # delivered with this round's job (or withheld): told once
        if tested or self.teacher.sentence_losses:
            job = job.model_copy(
                update={
                    "placement": [list(data.pool[j]) for j in tested],
                    "sentence_losses": bool(self.teacher.sentence_losses),
                }
            )
        if cfg.population:
            fresh = k == 0 and (cfg.student_lifetime == "episode" or ep.episode == 0)
            got = run_round(self.executor, job, cfg.population, self.priors, fresh=fresh, tag=f"episode-{ep.episode}")
        else:
            got = self.executor.run(job)
        check_reports(job, got, cfg.executor.name)
        if job.exams:
            got = self._apply_divergence_policy(got, ep.episode)
        ep.add(lessons, got)
        ep.feedback = []
        if job.exams or rnd.probe:
            # the interaction (and through it the teacher) sees the feedback exam only
            visible = [
                r.model_copy(update={"exams": {n: v for n, v in r.exams.items() if n == "feedback"}}) for r in got
            ]
            result = RoundResult(
                episode=ep.episode, round=k, plan=rnd, lessons=ep.so_far(), sent=list(lessons), reports=visible
            )
            ep.result = result
            ep.feedback = self.interaction.feedback(result)
            self._check_feedback(ep.feedback, k)
            ep.feedback = self._rewarded(ep.feedback)
            ep.told = self._student_feedback(result, got, rnd) if self.answers_students else []
            if job.sentence_losses or job.placement:
                ep.feedback = with_losses(ep.feedback, got, lessons, tested)
            ep.history.append(ep.feedback)
            if rnd.reward:
                ep.stats.update(self.teacher.learn(rewards_only(ep.feedback) if withheld else ep.feedback).stats)
        entry = self._round_entry(k, rnd, got, ep.feedback)
        if tested:  # the record keeps how many sentences were placement-tested, not the losses
            entry["placement"] = len(tested)
        ep.rounds.append(entry)
        ep.reports = got

    def _next_rounds(self, result: RoundResult, planned: list[Round], done: list[Round]) -> list[Round]:
        """The rounds left, as the interaction decides them from what happened (checked like a plan:
        the budget, the final exam last, no probe where the declared plan had none)."""
        cfg, name = self.config, self.config.interaction.name
        rest = self.interaction.next_rounds(result, list(planned))
        if rest == planned:
            return planned
        revised = check_plan(done + list(rest), cfg.budget, name, cfg.interaction.params)
        if any(r.probe for r in rest) and not any(r.probe for r in self.plan):
            raise PluginError(
                f"interaction plugin '{name}' added a round with probe > 0 in next_rounds(), but its declared plan "
                "asks students for no samples, so the student was not checked for the 'experiment' capability; "
                "declare a probing round in plan() if an episode may probe",
                plugin=name,
                stage="next_rounds",
            )
        return revised[len(done) :]

    def _student_feedback(
        self, result: RoundResult, reports: list[StudentReport], rnd: Round
    ) -> list[StudentFeedback | None]:
        """What the interaction tells each student of its round, checked (one entry per student);
        the environment's judgements of the students' samples first, when the interaction asks for them."""
        name, n = self.config.interaction.name, len(reports)
        if self.asks_environment and rnd.probe:
            by_student = {r.student: r.samples for r in reports}
            judge = guard_plugin(self.environment, "environment", self.config.environment.name).judge
            result = dataclasses.replace(
                result, judgements=[[judge(s) for s in by_student.get(i, [])] for i in range(n)]
            )
        told = self.interaction.student_feedback(result)
        if told is None:
            return []
        if (
            not isinstance(told, list)
            or len(told) != n
            or not all(t is None or isinstance(t, StudentFeedback) for t in told)
        ):
            raise PluginError(
                f"interaction plugin '{name}' returned from student_feedback() something other than one "
                f"ilm_core.StudentFeedback (or None) for each of the {n} students",
                plugin=name,
                stage="student_feedback",
            )
        return [self._student_reward(t) for t in told]

    def _student_reward(self, told: StudentFeedback | None) -> StudentFeedback | None:
        """What a student is told, with the reward its headline score gives (as a teacher's feedback)."""
        if told is None or not told.scores:
            return told
        head = next(iter(told.scores))
        value = told.scores[head]
        if not math.isfinite(value):
            return told
        where = f"student feedback of interaction plugin '{self.config.interaction.name}'"
        return told.model_copy(update={"reward": reward_of(head, value, self._direction(head, where))})

    def _placement(self, context: RoundContext) -> list[int]:
        """The pool indices the teacher names for this round's placement test (checked, duplicates dropped)."""
        tested = self.teacher.placement(context)
        pool, name = len(self.data.pool), self.config.teacher.name
        if not isinstance(tested, list) or not all(isinstance(j, int) and 0 <= j < pool for j in tested):
            raise PluginError(
                f"teacher plugin '{name}' named an invalid placement test in round {context.round}: "
                f"Teacher.placement must return a list of pool indices 0..{pool - 1}",
                plugin=name,
                stage="placement",
            )
        return list(dict.fromkeys(tested))

    def _job(self, ep: _EpisodeState, k: int, rnd: Round, lessons: list[Lesson]) -> TrainingJob:
        """What the executor gets for a round: the new sentences, the exams it ends with, the cohort."""
        cfg, data = self.config, self.data
        final = rnd.exam == "final"
        exams, item_labels = {}, {}
        if rnd.exam != "none":
            exams["feedback"] = ep.feedback_items
            if ep.labels:
                item_labels["feedback"] = ep.labels
            if final and ep.heldout_items:
                exams["heldout"] = ep.heldout_items
            if final:  # the exam's extra evaluations (e.g. minimal pairs), recorded, never sent
                exams.update({name: items for name, (items, _) in ep.evaluations.items()})
                item_labels.update({name: lab for name, (_, lab) in ep.evaluations.items() if lab})
        return TrainingJob(
            student=ComponentRef(**cfg.student.model_dump()),
            exam=ComponentRef(**cfg.exam.model_dump()),
            vocab_size=len(data.vocabulary),
            lessons=[sentences_of(lesson, data.pool) for lesson in lessons],
            seeds=ep.seeds,
            exams=exams,
            cohort=ep.cohort,
            release=final and ep.cohort is not None and cfg.student_lifetime == "episode",
            probe=rnd.probe,
            probe_seeds=[seeding.derive(cfg.seed, "probe", ep.episode, k, i) for i in range(ep.n)] if rnd.probe else [],
            labels=item_labels,
            item_sets={name: sets for name, sets in ep.item_sets.items() if name in exams},
            student_feedback=list(ep.told) if cfg.student_feedback == "given" and any(ep.told) else [],
            lesson_teachers=[lesson.teacher for lesson in lessons] if any(x.teacher for x in lessons) else [],
        )

    def _extras(self, ep: _EpisodeState) -> dict[str, list[float | None]]:
        """Per-student figures beyond the paper's: what students chose to train on, what they report."""
        extras: dict[str, list[float | None]] = {}
        if any(u != s for u, s in zip(ep.used, ep.sent, strict=True)):
            extras["sentences_used"] = [float(len(u)) for u in ep.used]
        for key in sorted({key for t in ep.totals for key in t}):
            extras[key] = [t.get(key) for t in ep.totals]
        if self.config.population:
            groups = enumerate(members(self.config.population))
            extras["population_group"] = [float(k) for k, ids in groups for _ in ids]
        if ep.goals is not None:  # the goal's position among the environment's goals, sorted by name
            names = sorted(self.data.goals)
            extras["goal"] = [float(names.index(g)) for g in ep.goals]
        return extras

    def _check_feedback(self, feedback: list[Feedback], k: int) -> None:
        name = self.config.interaction.name
        if not isinstance(feedback, list) or not all(isinstance(f, Feedback) for f in feedback):
            raise PluginError(
                f"interaction plugin '{name}' built feedback for round {k} that is not a list of ilm_core.Feedback",
                plugin=name,
                stage="feedback",
            )

    def _direction(self, name: str, where: str) -> Direction:
        """Which way score `name` is better; a PluginError naming the exam when neither the core nor it says."""
        if name not in self.directions:
            exam = self.config.exam.name
            raise PluginError(
                f"{where} has a score {name!r} whose direction is unknown (known: "
                f"{', '.join(sorted(self.directions))}); exam plugin '{exam}' declares the direction of each "
                f"score it reports beyond perplexity and accuracy in its ExamSpec "
                f"(scores={{{name!r}: Direction.LOWER or Direction.HIGHER}})",
                plugin=exam,
                stage="score",
            )
        return self.directions[name]

    def _rewarded(self, feedback: list[Feedback]) -> list[Feedback]:
        """The feedback with the reward a teacher optimises, from each one's headline score (computed here
        once, with the direction the core knows or the exam declares)."""
        name = self.config.interaction.name
        out = []
        for f in feedback:
            head = f.headline
            direction = self._direction(head, f"feedback of interaction plugin '{name}'")
            out.append(f.model_copy(update={"reward": reward_of(head, f.scores[head], direction)}))
        return out

    def _round_entry(
        self, k: int, rnd: Round, reports: list[StudentReport], feedback: list[Feedback]
    ) -> dict[str, Any]:
        """What the record keeps of one round of a several-round episode (the measures add theirs): the mean
        of the exam's headline score (named by what it is), of the feedback's, and of the teacher's reward."""
        entry: dict[str, Any] = {"round": k, "size": rnd.size, "exam": rnd.exam, "reward": rnd.reward}
        results = [r.exams["feedback"] for r in reports if "feedback" in r.exams]
        if results:
            head = results[0].headline
            entry[f"{head}_mean"] = statistics.fmean(res.scores[head] for res in results)
        if feedback:
            entry["feedback_mean"] = statistics.fmean(f.scores[f.headline] for f in feedback)
            rewards = [f.reward for f in feedback if f.reward is not None]  # the loop set every one
            entry["teacher_reward_mean"] = statistics.fmean(rewards) if rewards else None
        return entry

    def _apply_divergence_policy(self, reports: list[StudentReport], episode: int) -> list[StudentReport]:
        diverged = [r for r in reports if r.diverged]
        if not diverged:
            return reports
        ids = ", ".join(str(r.student) for r in diverged)
        finite = [r.exams["feedback"] for r in reports if not r.diverged]
        lr = self.config.student.params.get("lr")
        lower = (
            f"Lower the student's learning rate (student.lr = {lr})"
            if lr is not None
            else "Lower the student's learning rate"
        )
        if self.config.on_diverged == "stop":
            raise StudentDivergedError(
                f"episode {episode}: student(s) {ids} diverged (training loss or exam score NaN/inf) "
                f"and on_diverged='stop' ends the run. {lower}, or set on_diverged='worst' to score "
                "diverged students as the episode's worst."
            )
        if not finite:
            raise StudentDivergedError(
                f"episode {episode}: every student ({ids}) diverged (training loss or exam score "
                "NaN/inf), so on_diverged='worst' has no finite score to give them and the run stops. "
                f"{lower}."
            )
        # each score of the feedback exam: the worst any student who did not diverge got, by its direction
        worst: dict[str, float] = {}
        for name in finite[0].scores:
            values = [res.scores[name] for res in finite if math.isfinite(res.scores.get(name, math.nan))]
            if values:
                direction = self._direction(name, f"exam plugin '{self.config.exam.name}''s result")
                worst[name] = max(values) if direction == Direction.LOWER else min(values)
        head = finite[0].headline
        self.notify(
            f"episode {episode}: student(s) {ids} diverged; scored as the episode's worst ({head} {worst[head]:.4g})"
        )
        fixed = []
        for r in reports:
            if r.diverged:
                exams = {}
                for name, res in r.exams.items():
                    res = res.replaced({k: v for k, v in worst.items() if k in res.scores})
                    exams[name] = res.model_copy(update={"nll": math.nan}) if res.nll is not None else res
                r = r.model_copy(update={"exams": exams})
            fixed.append(r)
        return fixed

    def _record(
        self,
        episode: int,
        outcome: InteractionOutcome,
        taught: list[list[Sentence]],
        extras: dict[str, list[float | None]],
        measured: Measured,
        seconds: float,
    ) -> EpisodeRecord:
        data, lessons, reports = self.data, outcome.lessons, outcome.reports
        results = [r.exams["feedback"] for r in reports]
        label = self.environment.label
        per_student: dict[str, list[float | None]] = {}
        # perplexity exams: the paper's keys (`reward_mean` is minus the mean perplexity, as in the paper's records)
        ppl = [res.perplexity for res in results if res.perplexity is not None]
        if len(ppl) != len(results):
            ppl = []
        heldout = [r.exams["heldout"].perplexity for r in reports if "heldout" in r.exams]
        heldout_ppl = [p for p in heldout if p is not None] if len(heldout) == len(reports) else []
        if len(heldout_ppl) != len(heldout):
            heldout_ppl = []
        if ppl:
            per_student["perplexity"] = list[float | None](ppl)
        per_student["final_loss"] = [r.final_loss if math.isfinite(r.final_loss) else None for r in reports]
        if heldout_ppl:
            per_student["heldout_perplexity"] = list[float | None](heldout_ppl)
        generated = generated_counts(lessons, data, label)
        per_student.update(generated)
        if generated and self.run_dir is not None:
            write_generated(self.run_dir.path, episode, lessons)
            copied = sum(generated["generated_exam_copies"]) + sum(generated["generated_heldout_copies"])  # type: ignore[arg-type]
            if copied:
                self.notify(
                    f"episode {episode}: the teacher generated {copied:g} sentence(s) of the exam or held-out exam"
                )
        stats = self._teacher_stats(dict(outcome.teacher.stats), episode)
        accuracy, evaluations, components = exam_scores(reports, per_student)
        scores = other_scores(reports, per_student)
        # the reward the teacher optimised (the final round's feedback); the paper's `reward_mean` is another thing
        rewards = [f.reward for f in outcome.feedback if f.reward is not None]
        accuracies = per_student.get("accuracy")
        per_student.update(extras)
        measured.add_to(per_student)
        return EpisodeRecord(
            episode=episode,
            reward_mean=statistics.fmean(-p for p in ppl) if ppl else None,
            reward_std=statistics.pstdev([-p for p in ppl]) if ppl else None,
            teacher_reward_mean=statistics.fmean(rewards) if rewards else None,
            teacher_reward_std=statistics.pstdev(rewards) if rewards else None,
            perplexity_mean=statistics.fmean(ppl) if ppl else None,
            perplexity_std=statistics.pstdev(ppl) if ppl else None,
            heldout_perplexity_mean=statistics.fmean(heldout_ppl) if heldout_ppl else None,
            heldout_perplexity_std=statistics.pstdev(heldout_ppl) if heldout_ppl else None,
            entropy=stats.pop("entropy", None),
            tokens_sent=sum(len(s) for t in taught for s in t),
            seconds=round(seconds, 4),
            diverged_students=sum(r.diverged for r in reports),
            per_student=per_student,
            teacher=stats,
            accuracy_mean=accuracy,
            accuracy_std=statistics.pstdev(float(a or 0.0) for a in accuracies) if accuracies else None,
            scores=scores,
            evaluations=evaluations,
            components=components,
            measures=measured.episode,
        )

    def _teacher_stats(self, stats: dict[str, float], episode: int) -> dict[str, float]:
        """Non-finite teacher statistics are treated like diverged students: a notice (written as
        null in metrics.jsonl), or the end of the run under on_diverged='stop'."""
        bad = ", ".join(f"{k}={v}" for k, v in stats.items() if not math.isfinite(v))
        if not bad:
            return stats
        name = self.config.teacher.name
        lr = self.config.teacher.params.get("lr")
        lower = f"lower the teacher's learning rate (teacher.lr = {lr})" if lr is not None else "check its params"
        if self.config.on_diverged == "stop":
            raise TeacherDivergedError(
                f"episode {episode}: teacher plugin '{name}' reported non-finite statistics ({bad}): its learning "
                f"diverged, and on_diverged='stop' ends the run. Start a new run and {lower}."
            )
        self.notify(
            f"episode {episode}: teacher plugin '{name}' reported non-finite statistics ({bad}), written as null "
            f"in metrics.jsonl; its learning has likely diverged: {lower}, or set on_diverged='stop' to end such runs"
        )
        return stats

    # -- in memory, step by step ------------------------------------------------------------
    def episodes(self) -> Iterator[EpisodeRecord]:
        """Run the episodes in memory, yielding each record; no run directory is touched.

        Break out of the loop to stop; call `episodes()` again to go on from the next episode, or
        keep `state_dict()` and give it to `load_state_dict` of a new `Experiment` of the same
        config (another process, another day) to go on there with the same numbers.
        """
        if not hasattr(self, "teacher"):
            self.plan = plan_of(self.config, self.registry)
            self._build_environment()
            self._check_environment_needs()
            self._build()
            self.next_episode = getattr(self, "next_episode", 0)
            if hasattr(self, "_pending_state"):
                self._restore(self._pending_state)
                del self._pending_state
        while self.next_episode < self.config.episodes:
            check_interrupted()
            self.current_episode = self.next_episode
            record = self._episode(self.next_episode)
            self.next_episode += 1
            self.current_episode = None
            yield record

    def close(self) -> None:
        """Close the executor (its workers, its students); a failure here is a notice, so that it never
        hides the error that ended a run. `run()` calls it; call it after `episodes()` when done."""
        executor = getattr(self, "executor", None)
        if executor is None:
            return
        try:
            executor.close()
        except IlmError as exc:
            self.notify(str(exc))

    def state_dict(self) -> dict[str, Any]:
        """What continues this experiment elsewhere: the teacher, the random generators, students
        kept for the run and the episodes done (the content of a checkpoint)."""
        if not hasattr(self, "teacher"):
            raise IlmError("state_dict(): no episode has run yet; iterate over episodes() first")
        return self._checkpoint_state(self.next_episode)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Go on from `state` (a `state_dict()` of an experiment with the same config)."""
        self.next_episode = int(state["episode"])
        if hasattr(self, "teacher"):
            self._restore(state)
        else:
            self._pending_state = state  # applied once episodes() has built the components

    def _restore(self, state: dict[str, Any], source: Any = "state_dict()", rng: bool = True) -> None:
        check_environment(state, source, self.data)
        self.teacher.load_state_dict(state["teacher"])
        if self.config.student_lifetime == "run" and "students" in state:
            load_students(self.executor, "run", self.config.population, state["students"])
        told = state.get("student_feedback") or []
        self.carried = [StudentFeedback.model_validate(t) if t else None for t in told]
        if rng:
            seeding.set_rng_state(state.get("rng") or {"torch": state.get("torch_rng")})

    # -- the run ---------------------------------------------------------------------------
    @property
    def rd(self) -> RunDir:
        """The run directory, which `run()` and everything after it need."""
        if self.run_dir is None:
            raise ConfigError(
                "Experiment.run() writes a run directory: give the Experiment a RunDir, or iterate over "
                "Experiment.episodes() to run in memory"
            )
        return self.run_dir

    def _checkpoint_state(self, completed: int) -> dict[str, Any]:
        return {
            "episode": completed,
            "teacher": self.teacher.state_dict(),
            "rng": seeding.rng_state(),
            **(
                {"students": save_students(self.executor, "run", self.config.population)}
                if self.config.student_lifetime == "run"
                else {}
            ),
            **({"student_feedback": [t and t.model_dump() for t in self.carried]} if self.carried else {}),
            "environment": {
                "name": self.config.environment.name,
                "params": self.config.environment.params,
                "fingerprint": fingerprint(self.data),
            },
        }

    def run(self, resume: bool = False, observers: list[Any] = ()) -> dict[str, Any]:  # type: ignore[assignment]
        """Run (or resume) the experiment in its run directory; returns the summary also written to
        summary.json. `ilm_core.runner` does it: checkpoints, resume, the watchers, the summary."""
        from ilm_core.runner import Runner

        return Runner(self).run(resume, list(observers))
