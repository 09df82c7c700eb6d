"""The episode protocol an interaction plans: checked once, before a run directory exists.

An interaction describes every episode as rounds (`Interaction.plan`); the loop runs them.
This module checks a plan against the config (budget, exams, rewards) and the student plugin
(it must persist to live across rounds or episodes, and experiment to be asked for samples; a
student that uses feedback needs an interaction that answers students, and an interaction that
asks the environment an environment that judges), so a bad combination fails as a config error
before anything is written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ilm_core.errors import ConfigError, IlmError, PluginError
from ilm_core.messages import Round

if TYPE_CHECKING:
    from ilm_core.config import ExperimentConfig
    from ilm_core.registry import Registry


def check_plan(plan: Any, budget: int, name: str, params: dict[str, Any]) -> list[Round]:
    """The plan as a list of Rounds, or a ConfigError naming the interaction, its params and the rule."""
    where = f"interaction '{name}' (params {params}) with budget = {budget}"
    if not isinstance(plan, list) or not all(isinstance(r, Round) for r in plan):
        raise PluginError(
            f"interaction plugin '{name}' planned {type(plan).__name__}, not a list of ilm_core.Round",
            plugin=name,
            stage="plan",
        )
    if not plan:
        raise ConfigError(
            f"{where} plans zero rounds; an episode needs at least one round, the last with the final exam "
            "(allowed: 1 to budget rounds of at least one sentence each)"
        )
    total = sum(r.size for r in plan)
    if total > budget:
        sizes = "+".join(str(r.size) for r in plan)
        raise ConfigError(
            f"{where} plans rounds that send {sizes} = {total} sentences per student, more than the budget of "
            f"{budget}; make the rounds smaller or fewer so their sizes add up to at most the budget"
        )
    if plan[-1].exam != "final":
        raise ConfigError(
            f"{where}: the last of its {len(plan)} rounds has exam = '{plan[-1].exam}'; the last round must "
            "have exam = 'final' (it gives the episode's scores)"
        )
    for k, r in enumerate(plan[:-1]):
        if r.exam == "final":
            raise ConfigError(
                f"{where}: round {k} of {len(plan)} has exam = 'final'; only the last round has the final exam, "
                "earlier ones 'mid-term' or 'none'"
            )
    for k, r in enumerate(plan):
        if r.reward and r.exam == "none" and not r.probe:
            raise ConfigError(
                f"{where}: round {k} has reward = true but neither an exam nor a probe, so there is no feedback "
                "to reward the teacher with; give it exam = 'mid-term' or probe > 0, or reward = false"
            )
    return plan


def needs_persistence(plan: list[Round], lifetime: str) -> bool:
    """Whether students must outlive one training call: several rounds, or students kept for the run."""
    return len(plan) > 1 or lifetime == "run"


def plan_of(config: ExperimentConfig, registry: Registry) -> list[Round]:
    """Build the config's interaction and check its plan and the student it needs."""
    name, params = config.interaction.name, config.interaction.params
    interaction = registry.build("interaction", name, params)
    try:
        plan = interaction.plan(config.budget, config.n_students)
    except IlmError:
        raise
    except Exception as exc:
        raise PluginError(
            f"interaction plugin '{name}' raised in plan(): {type(exc).__name__}: {exc}", plugin=name, stage="plan"
        ) from exc
    plan = check_plan(plan, config.budget, name, params)
    student = registry.get("student", config.student.name)
    if needs_persistence(plan, config.student_lifetime) and "persistent" not in student.capabilities:
        why = (
            f"student_lifetime = '{config.student_lifetime}' keeps students across episodes"
            if config.student_lifetime == "run"
            else f"interaction '{name}' teaches in {len(plan)} rounds"
        )
        raise ConfigError(
            f"student '{student.name}' cannot persist (it lacks the 'persistent' capability), but {why}. "
            "Choose a student that persists (e.g. transformer-lm), the one-round interaction all-at-once, "
            "or student_lifetime = 'episode'."
        )
    probing = [k for k, r in enumerate(plan) if r.probe]
    if probing and "experiment" not in student.capabilities:
        raise ConfigError(
            f"interaction '{name}' asks students to generate sentences (round {probing[0]} has probe = "
            f"{plan[probing[0]].probe}), but student '{student.name}' cannot (it lacks the 'experiment' "
            "capability); use a student that experiments, e.g. student = 'experiment'"
        )
    check_student_feedback(config, registry, plan)
    return plan


def check_student_feedback(config: ExperimentConfig, registry: Registry, plan: list[Round]) -> None:
    """A student that uses feedback needs an interaction that answers students, and an interaction
    that asks the environment needs one that judges (both: a ConfigError naming what to change)."""
    from ilm_core.records import ANSWERS_STUDENTS, ASKS_ENVIRONMENT, JUDGES, USES_FEEDBACK

    name = config.interaction.name
    interaction = registry.get("interaction", name)
    students = [config.student.name] + [g.student.name for g in config.population or [] if g.student is not None]
    for student in dict.fromkeys(students):
        if USES_FEEDBACK in registry.get("student", student).capabilities and ANSWERS_STUDENTS not in (
            interaction.capabilities
        ):
            raise ConfigError(
                f"student '{student}' learns from what it is told of its own work (it has the '{USES_FEEDBACK}' "
                f"capability), but interaction '{name}' tells students nothing (it lacks the '{ANSWERS_STUDENTS}' "
                "capability), so it would train as a plain student. Choose an interaction that answers students "
                "(e.g. answer-students, ask-for-feedback), or a plain student (e.g. transformer-lm); to measure "
                "what the feedback adds, keep the interaction and set student_feedback = 'withheld'."
            )
    if ASKS_ENVIRONMENT in interaction.capabilities and config.student_feedback == "given":
        environment = registry.get("environment", config.environment.name)
        if JUDGES not in environment.capabilities:
            raise ConfigError(
                f"interaction '{name}' (params {config.interaction.params}) answers the students' sentences with "
                f"the environment's judgement, but environment '{environment.name}' cannot judge sentences (it "
                f"lacks the '{JUDGES}' capability: Environment.judge). Choose an environment that judges its "
                "language (e.g. structures, domains, random), or an interaction whose judge is a language model."
            )
