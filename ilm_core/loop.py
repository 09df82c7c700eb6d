"""The protocol: one teacher taught to teach, over episodes of rounds.

An episode draws its exams and runs the rounds its interaction plans (`_episode`). In a round
(`_round`) the teacher selects lessons, checked by the core; the executor trains and examines the
students; the interaction turns the feedback exam into feedback (the core adds the rewards) and may
tell the students something; the teacher learns; the interaction may revise the rounds left
(`_next_rounds`). A finished episode is measured and becomes its record (`ilm_core.episode_record`).
What no plugin is trusted with stays in the core: checking lessons, keeping the held-out exam from
teachers, the rewards (`ilm_core.feedback`), the divergence policy (`ilm_core.divergence`).
"""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Callable, Iterator
from typing import Any

from ilm_core import process, seeding
from ilm_core.build import build_environment, build_teacher, environment_plugin, setup_teacher, start_executor
from ilm_core.cache import SetupCache
from ilm_core.checkpoint_state import checkpoint_state, restore
from ilm_core.config import ExperimentConfig
from ilm_core.divergence import apply_divergence_policy, check_teacher_stats
from ilm_core.episode_record import EpisodeState, episode_record, round_entry
from ilm_core.errors import ConfigError, IlmError, PluginError
from ilm_core.feedback import Rewards, rewards_only, shuffled, with_losses
from ilm_core.guard import guard_plugin
from ilm_core.interfaces import Exam, Interaction, RoundContext, RoundResult, SetupTools, TeacherContext, set_up
from ilm_core.lessons import LessonRules, generated_counts, keep_generated, sentences_of
from ilm_core.measures import build_measures, measure_episode
from ilm_core.messages import ComponentRef, EpisodeRecord, Lesson, Round, StudentFeedback, StudentReport, TrainingJob
from ilm_core.population import prior_lesson, run_round
from ilm_core.progress import Steps
from ilm_core.protocol import check_plan, plan_of
from ilm_core.records import ANSWERS_STUDENTS, ASKS_ENVIRONMENT
from ilm_core.registry import Registry
from ilm_core.report_check import check_reports
from ilm_core.rundir import RunDir
from ilm_core.signals import check as check_interrupted


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
        """The environment's data, checked for what the config asks of it (the exam-domain labels for a
        privileged teacher or prior knowledge), and the measures set up for it (a new run: before its directory)."""
        process.apply()  # the process set-up (the thread plan), if its entry point made one
        start = time.perf_counter()
        with self.tools.steps.step("building the environment"):
            self.environment = environment_plugin(self.config, self.registry)
            self.data = build_environment(self.config, self.registry, self.environment)
        self.environment_seconds = time.perf_counter() - start
        cfg, env = self.config, self.config.environment.name
        if self.registry.get("teacher", cfg.teacher.name).privileged and not self.data.goals:
            self.data.require_labels(env, f"teacher '{cfg.teacher.name}' (a privileged reference)")
        for k, group in enumerate(cfg.population or []):
            if group.prior != "none":
                self.data.require_labels(env, f"population[{k}] ('{group.name}', prior = '{group.prior}')")
        self.measures = build_measures(cfg, self.registry, self.data, self.environment.label, self.notify)

    def _build(self) -> None:
        cfg, reg, steps = self.config, self.registry, self.tools.steps
        if not hasattr(self, "measures"):  # a new run built them before making its directory
            self._build_environment()
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
        #: rewards, by the direction of each score the exam may report (the core's known scores and its own)
        self.rewards = Rewards(reg.get("exam", cfg.exam.name).directions(), cfg.exam.name, cfg.interaction.name)
        self.exam.attach(self.data)
        if self.run_dir is not None:
            self.run_dir.write_artifacts(self.data.artifacts)
        self.executor = start_executor(cfg, reg, self.tools)
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

    # -- the episodes, in memory -----------------------------------------------------------
    def episodes(self) -> Iterator[EpisodeRecord]:
        """Run the episodes in memory, yielding each record; no run directory is touched.

        Break out of the loop to stop; call `episodes()` again to go on from the next episode, or
        keep `state_dict()` and give it to `load_state_dict` of a new `Experiment` of the same
        config (another process, another day) to go on there with the same numbers.
        """
        if not hasattr(self, "teacher"):
            self.plan = plan_of(self.config, self.registry)
            self._build_environment()
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

    # -- one episode -----------------------------------------------------------------------
    def _episode(self, episode: int) -> EpisodeRecord:
        """The episode's exams drawn, its rounds run (as the interaction revises them), its record made."""
        cfg, data = self.config, self.data
        start = time.perf_counter()
        import torch

        torch.manual_seed(seeding.derive(cfg.seed, "episode", episode))
        ep = EpisodeState(
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
        view = ep.view(data.pool)
        measured = measure_episode(self.measures, view, self.notify)
        generated = generated_counts(view.lessons, data, self.environment.label)
        keep_generated(self.run_dir.path if self.run_dir else None, episode, view.lessons, generated, self.notify)
        check_teacher_stats(ep.stats, episode, cfg, self.notify)
        return episode_record(
            ep,
            view,
            measured,
            generated=generated,
            population=cfg.population,
            goal_names=sorted(data.goals),
            seconds=time.perf_counter() - start,
        )

    def _cohort(self, episode: int) -> str | None:
        """Under which name the executor keeps this episode's students (None: it need not)."""
        if self.config.student_lifetime == "run":
            return "run"
        return f"episode-{episode}" if len(self.plan) > 1 else None

    def _seeds(self, episode: int) -> list[int]:
        cfg = self.config
        # students of a run are made in its first episode; same-every-episode: remade as they were then
        born = 0 if cfg.student_lifetime == "run" or cfg.student_init == "same-every-episode" else episode
        return [
            seeding.derive(cfg.seed, "student", born, 0 if cfg.student_init == "shared" else i)
            for i in range(cfg.n_students)
        ]

    def _goal_exams(self, ep: EpisodeState) -> None:
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

    # -- one round -------------------------------------------------------------------------
    def _round(self, ep: EpisodeState, k: int, rnd: Round) -> None:
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
        self.rules.check_round(lessons, rnd, k, len(self.plan), ep.sent)
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
            fresh = not job.continued
            got = run_round(self.executor, job, cfg.population, self.priors, fresh=fresh, tag=f"episode-{ep.episode}")
        else:
            got = self.executor.run(job)
        check_reports(job, got, cfg.executor.name)
        if job.exams:
            got = apply_divergence_policy(got, ep.episode, cfg, self.rewards.direction, self.notify)
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
            ep.feedback = self.rewards.feedback(self.interaction.feedback(result), k)
            ep.told = self._student_feedback(result, got, rnd) if self.answers_students else []
            if job.sentence_losses or job.placement:
                ep.feedback = with_losses(ep.feedback, got, lessons, tested)
            ep.history.append(ep.feedback)
            if rnd.reward:
                ep.stats.update(self.teacher.learn(rewards_only(ep.feedback) if withheld else ep.feedback).stats)
        entry = round_entry(k, rnd, got, ep.feedback)
        if tested:  # the record keeps how many sentences were placement-tested, not the losses
            entry["placement"] = len(tested)
        ep.rounds.append(entry)
        ep.reports = got

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

    def _job(self, ep: EpisodeState, k: int, rnd: Round, lessons: list[Lesson]) -> TrainingJob:
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
            continued=ep.cohort is not None and (k > 0 or (cfg.student_lifetime == "run" and ep.episode > 0)),
            probe=rnd.probe,
            probe_seeds=[seeding.derive(cfg.seed, "probe", ep.episode, k, i) for i in range(ep.n)] if rnd.probe else [],
            labels=item_labels,
            item_sets={name: sets for name, sets in ep.item_sets.items() if name in exams},
            student_feedback=list(ep.told) if cfg.student_feedback == "given" and any(ep.told) else [],
            lesson_teachers=[lesson.teacher for lesson in lessons] if any(x.teacher for x in lessons) else [],
        )

    def _student_feedback(
        self, result: RoundResult, reports: list[StudentReport], rnd: Round
    ) -> list[StudentFeedback | None]:
        """What the interaction tells each student of its round, checked and rewarded (one entry per
        student); the environment's judgements of the students' samples first, when the interaction asks."""
        n = len(reports)
        if self.asks_environment and rnd.probe:
            by_student = {r.student: r.samples for r in reports}
            judge = guard_plugin(self.environment, "environment", self.config.environment.name).judge
            result = dataclasses.replace(
                result, judgements=[[judge(s) for s in by_student.get(i, [])] for i in range(n)]
            )
        return self.rewards.student_feedback(self.interaction.student_feedback(result), n)

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

    # -- going on elsewhere, closing, a run directory ----------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """What continues this experiment elsewhere: the teacher, the random generators, students
        kept for the run and the episodes done (the content of a checkpoint)."""
        if not hasattr(self, "teacher"):
            raise IlmError("state_dict(): no episode has run yet; iterate over episodes() first")
        return checkpoint_state(self.next_episode, self.config, self.teacher, self.executor, self.data, self.carried)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Go on from `state` (a `state_dict()` of an experiment with the same config)."""
        self.next_episode = int(state["episode"])
        if hasattr(self, "teacher"):
            self._restore(state)
        else:
            self._pending_state = state  # applied once episodes() has built the components

    def _restore(self, state: dict[str, Any]) -> None:
        self.carried = restore(state, "state_dict()", self.config, self.teacher, self.executor, self.data)

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

    @property
    def rd(self) -> RunDir:
        """The run directory, which `run()` and everything after it need."""
        if self.run_dir is None:
            raise ConfigError(
                "Experiment.run() writes a run directory: give the Experiment a RunDir, or iterate over "
                "Experiment.episodes() to run in memory"
            )
        return self.run_dir

    def run(self, resume: bool = False, observers: list[Any] = ()) -> dict[str, Any]:  # type: ignore[assignment]
        """Run (or resume) the experiment in its run directory; returns the summary also written to
        summary.json. `ilm_core.runner` does it: checkpoints, resume, the watchers, the summary."""
        from ilm_core.runner import Runner

        return Runner(self).run(resume, list(observers))
