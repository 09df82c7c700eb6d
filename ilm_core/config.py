"""The experiment config: defaults < config file < command-line flags < `--set` overrides.

A config is resolved against the registry: every component name must exist and its params
are validated by the plugin's own params model, then written out in full, so a run
directory records exactly what ran.
"""

from __future__ import annotations

import copy
import json
import math
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, ValidationError, model_serializer

from ilm_core.errors import ConfigError
from ilm_core.messages import ComponentRef
from ilm_core.population import PopulationGroup, check_population
from ilm_core.records import COMPONENT_KINDS
from ilm_core.registry import Registry, check_scalar_types, describe_validation_error
from ilm_core.trackers import choose_trackers, parse_trackers

#: the kinds a run chooses exactly one of, each a field of ExperimentConfig
COMPONENTS = tuple(kind.name for kind in COMPONENT_KINDS if kind.one_per_run)
CONFIG_SUFFIXES = (".toml", ".json", ".yaml", ".yml")
#: fields that only watch a run: they may change when it resumes and are not part of its identity
OBSERVING = ("trackers",)
#: fields renamed since runs were recorded, old name -> new: a config that uses an old name is refused
#: with the new one suggested; a run directory's config.json is read in the new names (`upgrade_recorded`)
RENAMED = {"students": "n_students"}

#: The measures a run takes when its config names none: the paper's, as plugins (`ilm plugins`
#: lists them). `exam-domain`: the fraction of taught sentences from the exam's domain (Figure 2b);
#: `ngram-overlap`: unigram, bigram and trigram overlap of the taught data with the exam (App. C).
#: They take no params, so that a config that keeps the default writes no `measures` at all.
DEFAULT_MEASURES: tuple[str, ...] = ("exam-domain", "ngram-overlap")


#: a component chosen by plugin name, with its params: the same record a training job carries
ComponentChoice = ComponentRef


class ExperimentConfig(BaseModel):
    """One experiment: which plugins, how many episodes and students, which seed."""

    model_config = ConfigDict(extra="forbid")

    seed: int = Field(6639, description="seeds the environment, the teacher and every student")
    episodes: int = Field(40, ge=1, description="teacher training episodes")
    n_students: int = Field(12, ge=1, description="students per teacher (lessons per episode)")
    budget: int = Field(10, ge=1, description="sentences per lesson")
    environment: ComponentChoice = ComponentChoice(name="domains")
    teacher: ComponentChoice = ComponentChoice(name="select-bin")
    student: ComponentChoice = ComponentChoice(name="transformer-lm")
    interaction: ComponentChoice = ComponentChoice(name="all-at-once")
    exam: ComponentChoice = ComponentChoice(name="perplexity")
    executor: ComponentChoice = ComponentChoice(name="auto")
    device: str = Field("cpu", description="device of the teacher and of in-process students")
    checkpoint_every: int = Field(1, ge=1, description="write a checkpoint every K episodes")
    keep_checkpoints: int = Field(2, ge=1, description="checkpoints kept (older ones deleted)")
    student_init: Literal["independent", "shared", "same-every-episode"] = Field(
        "independent",
        description="'independent': every student of an episode starts from its own random "
        "initialisation; 'shared': all students of an episode start from the same one (common "
        "random numbers), so their scores differ only by their lessons; 'same-every-episode': each "
        "student starts from its own initialisation, the same in every episode, so episodes differ "
        "only by their lessons (and exams)",
    )
    student_lifetime: Literal["episode", "run"] = Field(
        "episode",
        description="'episode': every episode teaches new students; 'run': the same N students live through "
        "every episode (they remember earlier lessons; checkpoints hold them). Needs a student plugin with "
        "the 'persistent' capability.",
    )
    teacher_feedback: Literal["given", "withheld", "shuffled"] = Field(
        "given",
        description="'given': the teacher sees each earlier round's feedback when it chooses the next lessons "
        "(RoundContext.feedback, with item and component scores); 'withheld': it sees none within an episode "
        "and learns only from its rewards, whose item and component scores are removed (the ablation that "
        "measures what listening adds); 'shuffled': it sees each student's feedback with another student's "
        "scores (a seeded derangement per round; per-sentence losses removed) and learns from the true rewards "
        "(the ablation that asks whether what helps is who scored what, or only hearing scores at all)",
    )
    student_feedback: Literal["given", "withheld"] = Field(
        "given",
        description="'given': what the interaction tells each student of its own work (its exam scores, "
        "judgements of the sentences it generated; `Interaction.student_feedback`) reaches it with its next "
        "lesson, when the student plugin uses feedback; 'withheld': it never does (the ablation that measures "
        "what a student's listening adds; everything else, the teacher's feedback included, stays the same)",
    )
    on_diverged: Literal["worst", "stop"] = Field(
        "worst",
        description="a student whose loss or exam perplexity is NaN/inf: 'worst' scores it as the "
        "worst finite student of the episode (with a notice; the run stops when no student stayed "
        "finite), 'stop' ends the run. Either way the finished episodes stay on disk.",
    )
    trackers: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="outside tools that follow the run, by name, with their params (e.g. tensorboard, "
        "mlflow; `ilm plugins` lists them); they never change its numbers",
    )

    measures: list[ComponentChoice] = Field(
        default_factory=lambda: [ComponentChoice(name=name) for name in DEFAULT_MEASURES],
        description="what is measured of each episode into metrics.jsonl, by measure plugin name with params "
        "(`ilm plugins` lists them); default: the paper's (exam-domain fraction, n-gram overlap with the exam)",
    )
    population: list[PopulationGroup] | None = Field(
        None,
        description="a mixed population: groups of students that differ in student plugin, size or prior "
        "knowledge (their counts add up to `n_students`); None: every student is `student`",
    )

    @model_serializer(mode="wrap")
    def _omit_later_defaults(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Fields added after runs were recorded are written only when set, so that the config
        (and config.json, the summary's config_sha, a sweep's reuse of finished runs) of a run that
        does not use them stays what it was."""
        data: dict[str, Any] = handler(self)
        for key, default in _LATER_DEFAULTS.items():
            if data.get(key) == default:
                data.pop(key)
        return data


#: fields added after runs were recorded, with the value that leaves them out of a dump
_LATER_DEFAULTS: dict[str, Any] = {
    "student_lifetime": "episode",
    "teacher_feedback": "given",
    "student_feedback": "given",
    "trackers": {},
    "population": None,
    "measures": [{"name": name, "params": {}} for name in DEFAULT_MEASURES],
}


def upgrade_recorded(config: dict[str, Any]) -> dict[str, Any]:
    """A config recorded by an earlier run (its config.json) in today's field names."""
    return {(RENAMED[k] if k in RENAMED and RENAMED[k] not in config else k): v for k, v in config.items()}


def config_identity(config: dict[str, Any]) -> dict[str, Any]:
    """A config as a dict without the fields that only watch the run (what makes two runs the same)."""
    return {k: v for k, v in config.items() if k not in OBSERVING}


#: Python's spellings of the non-finite floats (what `repr(float)` writes), besides JSON's
_NON_FINITE = {"inf": math.inf, "+inf": math.inf, "-inf": -math.inf, "nan": math.nan}


def parse_value(text: str) -> Any:
    """Parse a `--set` value: JSON when it parses (numbers, true/false, lists, "quoted text"),
    inf/-inf/nan as floats, else the text itself as a string.

    Quote a string that would otherwise parse as something else: `--set device='"0"'`.
    """
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return _NON_FINITE.get(text.strip().lower(), text)


def parse_set(item: str) -> tuple[list[str], Any]:
    """`teacher.lr=0.1` -> (["teacher", "params", "lr"], 0.1); `episodes=5` -> (["episodes"], 5)."""
    key, sep, value = item.partition("=")
    key = key.strip()
    if not sep or not key or any(not part for part in key.split(".")):
        raise ConfigError(
            f"--set {item!r} is not of the form path.to.param=value (e.g. --set teacher.lr=0.05 or --set episodes=10)"
        )
    path = key.split(".")
    if path[0] in COMPONENTS and len(path) > 1 and path[1] not in ("name", "params"):
        path.insert(1, "params")
    return path, parse_value(value)


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply `--set` overrides to a raw config dict (returns a new dict)."""
    result = copy.deepcopy(raw)  # not a JSON round trip: TOML and YAML files may hold dates
    for item in overrides:
        path, value = parse_set(item)
        node = result
        for part in path[:-1]:
            nxt = node.setdefault(part, {})
            if not isinstance(nxt, dict):
                raise ConfigError(f"--set {item!r}: '{part}' is a value, not a section")
            node = nxt
        node[path[-1]] = value
    return result


def not_a_file(path: Path) -> str | None:
    """What `path` is when it exists but is not a regular file ("a named pipe (FIFO)", "a folder", ...);
    None for a regular file or a path that does not exist. Never opens it (opening a FIFO blocks)."""
    import stat

    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device"


def load_config_file(path: Path) -> dict[str, Any]:
    """Read a TOML, JSON or YAML config file into a dict."""
    if path.suffix.lower() not in CONFIG_SUFFIXES:
        raise ConfigError(
            f"config file {str(path)!r} has an unknown format {path.suffix!r}; use one of: "
            + ", ".join(CONFIG_SUFFIXES)
        )
    not_file = not_a_file(path)
    if not_file:  # reading a named pipe would wait for a writer for ever
        raise ConfigError(
            f"config file {str(path)!r} cannot be read: it is {not_file}, not a file; give a config file "
            "(TOML, JSON or YAML)"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {str(path)!r} does not exist") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {str(path)!r} cannot be read: it is not UTF-8 text ({exc})") from None
    except OSError as exc:
        raise ConfigError(f"config file {str(path)!r} cannot be read: {exc.strerror or exc}") from None
    try:
        if path.suffix.lower() == ".toml":
            data = tomllib.loads(text)
        elif path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text) or {}
    except Exception as exc:
        # parser messages (YAML's especially) span lines; the CLI shows one paragraph
        detail = " ".join(str(exc).split())
        raise ConfigError(f"config file {str(path)!r} is not valid {path.suffix[1:].upper()}: {detail}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {str(path)!r} must hold a table of settings, not {type(data).__name__}")
    data.pop("description", None)
    return data


def normalise(raw: dict[str, Any]) -> dict[str, Any]:
    """Accept `teacher = "random"` as shorthand for `teacher = {name = "random"}`."""
    result = dict(raw)
    if "trackers" in result:
        result["trackers"] = parse_trackers(result["trackers"])
    if isinstance(result.get("measures"), list):  # `measures = ["exam-domain"]`: names without params
        result["measures"] = [{"name": m} if isinstance(m, str) else m for m in result["measures"]]
    for key in COMPONENTS:
        value = result.get(key)
        if isinstance(value, str):
            result[key] = {"name": value}
        elif isinstance(value, dict) and "name" not in value:
            # params given (e.g. by --set teacher.lr=0.1) for the default component
            result[key] = {"name": ExperimentConfig.model_fields[key].default.name, **value}
    return result


def resolve(raw: dict[str, Any], registry: Registry) -> ExperimentConfig:
    """Validate a raw config and every component's params; fill in all defaults.

    A `[sweep]` section (grid and seeds, read by `ilm sweep`) is ignored, so one file serves
    both `ilm sweep` and a single `ilm run`.
    """
    raw = {k: v for k, v in raw.items() if k != "sweep"}
    check_scalar_types(ExperimentConfig, raw, prefix="config")  # budget = true is not budget = 1
    try:
        config = ExperimentConfig.model_validate(normalise(raw))
    except ValidationError as exc:
        detail = describe_validation_error(exc, prefix="config", model=ExperimentConfig, renamed=RENAMED)
        raise ConfigError(detail) from None
    updates = {}
    for kind in COMPONENTS:
        choice: ComponentChoice = getattr(config, kind)
        spec = registry.get(kind, choice.name)
        dumped = registry.validate_params(kind, spec.name, choice.params).model_dump(mode="json")
        check_finite(dumped, f"{kind}.params")
        updates[kind] = ComponentChoice(name=spec.name, params=dumped)
    trackers = {}
    for name, params in config.trackers.items():
        spec = registry.get("tracker", name)
        check_scalar_types(spec.params, params, prefix=f"trackers.{spec.name}")
        try:
            trackers[spec.name] = spec.params.model_validate(params).model_dump(mode="json")
        except ValidationError as exc:
            detail = describe_validation_error(exc, prefix=f"trackers.{spec.name}", model=spec.params)
            raise ConfigError(detail) from None
    measures = _resolve_measures(config, registry)
    config = config.model_copy(update={**updates, "trackers": trackers, "measures": measures})
    if config.population is not None:
        config = config.model_copy(update={"population": _resolve_population(config, registry)})
    from ilm_core.protocol import plan_of

    plan_of(config, registry)  # a plan the budget or the student cannot serve fails here, before any run
    return config


def _resolve_measures(config: ExperimentConfig, registry: Registry) -> list[ComponentChoice]:
    """Each measure named by an installed plugin (else "did you mean"), once, with validated params."""
    out: list[ComponentChoice] = []
    for k, choice in enumerate(config.measures):
        spec = registry.get("measure", choice.name)
        if any(c.name == spec.name for c in out):
            raise ConfigError(f"'config.measures' names measure '{spec.name}' twice; list each measure once")
        params = registry.validate_params("measure", spec.name, choice.params).model_dump(mode="json")
        check_finite(params, f"measures[{k}].params")
        out.append(ComponentChoice(name=spec.name, params=params))
    return out


def check_finite(params: Any, where: str) -> None:
    """Refuse NaN and infinite numbers in params: a learning rate of inf validates as a float but
    turns every statistic of the run into NaN from its first episode."""
    if isinstance(params, float) and not math.isfinite(params):
        raise ConfigError(
            f"'{where}' = {params} is invalid: params must be finite numbers (not inf or nan); give a finite value"
        )
    if isinstance(params, dict):
        for key, value in params.items():
            check_finite(value, f"{where}.{key}")
    elif isinstance(params, list | tuple):
        for i, value in enumerate(params):
            check_finite(value, f"{where}[{i}]")


def check_device(device: str) -> None:
    """Refuse a device this machine does not have, before any work (not after the set-up)."""
    import torch

    try:
        parsed = torch.device(device)
    except (RuntimeError, ValueError, TypeError):
        raise ConfigError(
            f"'config.device' = {device!r} is invalid: not a torch device; use cpu, cuda, cuda:1, mps, ..."
        ) from None
    if parsed.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            build = "a CPU-only build of torch" if torch.version.cuda is None else "no visible GPU"
            raise ConfigError(
                f"'config.device' = {device!r} is invalid: this machine has no usable CUDA device ({build}). "
                "Use --device cpu, or install a CUDA build of torch on a machine with a GPU."
            )
        if parsed.index is not None and parsed.index >= count:
            raise ConfigError(
                f"'config.device' = {device!r} is invalid: there are {count} CUDA device(s), cuda:0 to "
                f"cuda:{count - 1}."
            )
    elif parsed.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"'config.device' = {device!r} is invalid: MPS is not available here; use --device cpu.")


def check_sweep(spec: Any, seeds: str | None) -> None:
    """An empty `--seeds` or an empty `[sweep] grid` is a mistake, not a request for the defaults."""
    if not isinstance(spec, dict):
        raise ConfigError(f"[sweep] = {spec!r} is invalid: it must be a table with `grid` and `seeds`")
    if seeds is not None and not seeds.replace(",", " ").strip():
        raise ConfigError(
            f"--seeds {seeds!r} names no seed; give comma-separated integers (e.g. --seeds 6639,7519), or omit "
            "--seeds for the config's seeds (else the paper's five)"
        )
    if "seeds" in spec and not spec["seeds"]:
        raise ConfigError("[sweep] seeds = [] names no seed; list at least one, or remove the line for the defaults")
    if "grid" in spec:
        grid = spec["grid"]
        if not isinstance(grid, dict) or not grid:
            raise ConfigError(
                f"[sweep.grid] = {grid!r} is empty; give each swept param its values (e.g. n_students = [2, 4, 8]), "
                "or remove the section to run only the base config"
            )
        for key, values in grid.items():
            if not isinstance(values, list) or not values:
                raise ConfigError(f"[sweep.grid] {key} = {values!r} is invalid: give a non-empty list of values")


def _resolve_population(config: ExperimentConfig, registry: Registry) -> list[PopulationGroup]:
    """Each group's student validated like a component; the counts and prior knowledge checked."""
    groups = config.population or []
    problem = check_population(groups, config.n_students)
    if problem:
        raise ConfigError(f"population: {problem}.")
    out = []
    for k, group in enumerate(groups):
        ref = group.student or ComponentRef(**config.student.model_dump())
        spec = registry.get("student", ref.name)
        params = registry.validate_params("student", spec.name, ref.params)
        check_finite(params.model_dump(mode="json"), f"population[{k}].student.params")
        needs = f"prior = '{group.prior}'" if group.prior != "none" else None
        needs = needs or ("student_lifetime = 'run'" if config.student_lifetime == "run" else None)
        if needs and "persistent" not in spec.capabilities:
            raise ConfigError(
                f"population[{k}] ('{group.name}') needs students that persist ({needs}), but student "
                f"'{spec.name}' cannot (it lacks the 'persistent' capability); choose a student that persists "
                "(e.g. transformer-lm or lstm-lm), or prior = 'none' and student_lifetime = 'episode'"
            )
        out.append(
            group.model_copy(update={"student": ComponentRef(name=spec.name, params=params.model_dump(mode="json"))})
        )
    return out


def config_diff(a: dict[str, Any], b: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted paths where two config dicts differ."""
    diffs = []
    for key in sorted(set(a) | set(b)):
        path = f"{prefix}{key}"
        va, vb = a.get(key), b.get(key)
        if isinstance(va, dict) and isinstance(vb, dict):
            diffs.extend(config_diff(va, vb, prefix=path + "."))
        elif va != vb:
            diffs.append(f"{path}: {va!r} -> {vb!r}")
    return diffs


def assemble(
    config_file: Path | None = None,
    flags: dict[str, Any] | None = None,
    overrides: list[str] | None = None,
    base: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Raw config from, in increasing precedence: `base`, a file, command-line flags, `--set`.

    Flags that name a component (`teacher="random"`) set its name and keep its params only
    when the name is unchanged.
    """
    raw = normalise(dict(base or {}))
    if config_file is not None:
        raw.update(normalise(load_config_file(config_file)))
    for key, value in (flags or {}).items():
        if value is None:
            continue
        if key in COMPONENTS:
            current = raw.get(key) or {}
            same = isinstance(current, dict) and current.get("name") == value
            raw[key] = {"name": value, "params": current.get("params", {}) if same else {}}
        elif key == "trackers":
            raw[key] = choose_trackers(raw.get(key), value)
        else:
            raw[key] = value
    return normalise(apply_overrides(raw, overrides or []))
