"""Building a run's environment, teacher and executor from its config, each guarded so its errors name it."""

from __future__ import annotations

from ilm_core import seeding
from ilm_core.config import ExperimentConfig
from ilm_core.errors import ConfigError, IlmError, PluginError
from ilm_core.guard import guard_plugin
from ilm_core.interfaces import Environment, Executor, ExecutorContext, SetupTools, Teacher, TeacherContext, set_up
from ilm_core.messages import ComponentRef, EnvironmentData
from ilm_core.population import descriptors, groups_of
from ilm_core.registry import Registry


def environment_plugin(config: ExperimentConfig, registry: Registry) -> Environment:
    """The config's environment plugin, guarded so that its errors name it."""
    name = config.environment.name
    environment: Environment = registry.build("environment", name, config.environment.params)
    return guard_plugin(environment, "environment", name)


def build_environment(config: ExperimentConfig, registry: Registry, env: Environment | None = None) -> EnvironmentData:
    """Build and check the environment's data sets (disjoint, budget fits the pool)."""
    name = config.environment.name
    env = env if env is not None else environment_plugin(config, registry)
    try:
        data = env.build(seeding.derive(config.seed, "environment"))
        if not isinstance(data, EnvironmentData):
            data = EnvironmentData.model_validate(data)
    except IlmError:
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
    teacher: Teacher = registry.build("teacher", config.teacher.name, config.teacher.params)
    return guard_plugin(teacher, "teacher", config.teacher.name)


def setup_teacher(
    teacher: Teacher,
    config: ExperimentConfig,
    data: EnvironmentData,
    registry: Registry,
    tools: SetupTools | None = None,
) -> None:
    """Give the teacher what it may know of the run (never the exams; the pool's labels only to a
    privileged reference teacher), its own seed and the set-up tools."""
    set_up(
        teacher,
        TeacherContext.of(
            data,
            budget=config.budget,
            n_students=config.n_students,
            seed=seeding.derive(config.seed, "teacher"),
            device=config.device,
            episodes=config.episodes,
            privileged=registry.get("teacher", config.teacher.name).privileged,
            students=descriptors(groups_of(config), ComponentRef(**config.student.model_dump())),
            tools=tools,
        ),
    )


def start_executor(config: ExperimentConfig, registry: Registry, tools: SetupTools) -> Executor:
    """The config's executor, started (a failure to start names it) and guarded so that its errors name it."""
    name = config.executor.name
    executor: Executor = registry.build("executor", name, config.executor.params)
    student = ComponentRef(**config.student.model_dump())
    try:
        with tools.steps.step("starting the executor"):
            set_up(executor, ExecutorContext(registry, student, config.n_students, config.device, tools.notify))
    except IlmError:
        raise
    except Exception as exc:
        raise PluginError(
            f"executor plugin '{name}' failed to start: {type(exc).__name__}: {exc}", plugin=name, stage="prepare"
        ) from exc
    return guard_plugin(executor, "executor", name)
