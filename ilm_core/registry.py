"""The plugin registry: loads entry points of group `ilm`, collects records, builds components.

Built-in plugins are ordinary entry points of the `ilm` distribution, loaded exactly like a
third party's. Every entry point loads in its own try/except: a broken plugin is recorded
with its reason and skipped, never fatal. Two plugins that claim the same name are an error
naming every provider.
"""

from __future__ import annotations

import difflib
import functools
import importlib.metadata
import os
import traceback
import types
import typing
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Literal, overload

import pluggy
from pydantic import BaseModel, ValidationError

from ilm_core import compat, hookspecs, interfaces
from ilm_core.errors import ConfigError, IlmError, PluginError, UnknownPluginError
from ilm_core.records import KIND_OF, KINDS, SPEC_TYPES, ExamSpec, PluginSpec, RoadmapCell, TeacherSpec

ENTRY_POINT_GROUP = "ilm"
#: a component's params as a config gives them
Params = dict[str, Any] | None
#: the distributions that ship the reference plugins (kept when external plugins are blocked)
BUILTIN_DISTRIBUTIONS = frozenset({"ilm"})


@dataclass(frozen=True)
class BrokenPlugin:
    """An entry point or plugin that failed to load or to answer a hook."""

    name: str
    distribution: str | None
    reason: str
    detail: str = ""
    #: the module the plugin lives in, where known (so its source can still be read)
    module: str | None = None


@dataclass
class Registry:
    """Holds the plugin manager and what the plugins registered."""

    pm: pluggy.PluginManager = field(default_factory=lambda: _new_manager())
    broken: list[BrokenPlugin] = field(default_factory=list)
    _dists: dict[int, str] = field(default_factory=dict)
    _cache: dict[str, dict[str, PluginSpec]] = field(default_factory=dict)

    # -- loading ---------------------------------------------------------------------------
    @classmethod
    def installed(cls) -> Registry:
        """A new registry of every installed plugin, with a plugin manager of its own: what is
        registered in it (an in-process plugin, a hook) reaches no other registry's experiments.
        Set ILM_NO_PLUGINS=1 to load only the built-in distribution's plugins."""
        registry = cls()
        registry.load_entry_points(external=os.environ.get("ILM_NO_PLUGINS", "") not in ("1", "true", "yes"))
        return registry

    def load_entry_points(self, *, external: bool = True) -> int:
        """Load every entry point of group `ilm`; return how many loaded.

        `external=False` (or ILM_NO_PLUGINS=1) keeps only the built-in distributions.
        """
        count = 0
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            dist = ep.dist.name if ep.dist is not None else None
            if not external and dist not in BUILTIN_DISTRIBUTIONS:
                continue
            if self.pm.has_plugin(ep.name):
                continue
            try:
                plugin = ep.load()
            except Exception as exc:  # a broken plugin must never stop ilm
                self.broken.append(BrokenPlugin(ep.name, dist, load_error(exc), traceback.format_exc(), ep.module))
                continue
            self.register(plugin, name=ep.name, distribution=dist)
            count += 1
        return count

    def register(self, plugin: Any, name: str | None = None, distribution: str | None = None) -> None:
        """Register a plugin object (a module or class with hook implementations) in-process."""
        try:
            self.pm.register(plugin, name=name)
        except ValueError as exc:
            raise PluginError(f"plugin {name!r} is already registered ({exc})", plugin=name) from exc
        except pluggy.PluginValidationError as exc:
            self.broken.append(BrokenPlugin(name or repr(plugin), distribution, str(exc)))
            return
        self._dists[id(plugin)] = distribution or "<in-process>"
        self._cache.clear()

    def unregister(self, plugin: Any) -> None:
        self.pm.unregister(plugin)
        self._dists.pop(id(plugin), None)
        self._cache.clear()

    # -- lookups ---------------------------------------------------------------------------
    def specs(self, kind: str) -> dict[str, PluginSpec]:
        """All records of one kind, by name. Duplicate names are an error naming every provider."""
        if kind not in KINDS:
            raise ConfigError(f"unknown component kind {kind!r}; kinds are: {', '.join(KINDS)}")
        if kind in self._cache:
            return self._cache[kind]
        found: dict[str, list[PluginSpec]] = {}
        for spec in self._collect(KIND_OF[kind].hook, SPEC_TYPES[kind]):
            found.setdefault(spec.name, []).append(spec)
        dupes = {n: s for n, s in found.items() if len(s) > 1}
        if dupes:
            lines = [
                f"'{n}' provided by: " + ", ".join(str(s.distribution) for s in specs) for n, specs in dupes.items()
            ]
            raise PluginError(
                f"conflicting {kind} plugins: "
                + "; ".join(lines)
                + ". Uninstall one of them, or run with ILM_NO_PLUGINS=1 to use only the built-ins."
            )
        result = {n: s[0] for n, s in sorted(found.items())}
        self._cache[kind] = result
        return result

    def all_specs(self) -> list[PluginSpec]:
        return [spec for kind in KINDS for spec in self.specs(kind).values()]

    @overload
    def get(self, kind: Literal["teacher"], name: str) -> TeacherSpec: ...
    @overload
    def get(self, kind: Literal["exam"], name: str) -> ExamSpec: ...
    @overload
    def get(self, kind: str, name: str) -> PluginSpec: ...
    def get(self, kind: str, name: str) -> PluginSpec:
        """The record for `name`, or an error with "did you mean" and the valid choices."""
        specs = self.specs(kind)
        key = name.strip().lower()
        if key in specs:
            return specs[key]
        close = difflib.get_close_matches(key, list(specs), n=3, cutoff=0.5)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        choices = ", ".join(specs) or "(none installed)"
        suspects = [b for b in self.broken if _may_provide(b, key)]
        if suspects:
            b = suspects[0]
            raise PluginError(
                f"{kind} {name!r} is not available: the plugin {b.name!r} (from {b.distribution}) is installed but "
                f"broken, so the {kind}s it provides could not be loaded: {b.reason}. Fix or reinstall it "
                f"(`ilm plugins` shows every broken plugin and why), or choose an installed {kind}: {choices}.",
                plugin=b.name,
                stage="load",
            )
        others = ""
        if self.broken:
            listed = "; ".join(f"{b.name!r} (from {b.distribution}): {b.reason}" for b in self.broken)
            others = f" Broken plugins that could not be loaded, and may provide it: {listed}."
        raise UnknownPluginError(
            f"unknown {kind} {name!r}.{hint} Installed {kind}s: {choices}.{others} "
            "Run `ilm plugins` to see every plugin and where it comes from."
        )

    def validate_params(self, kind: str, name: str, params: dict[str, Any]) -> BaseModel:
        """Validate params against the plugin's params model; errors name each field."""
        spec = self.get(kind, name)
        check_scalar_types(spec.params, params, prefix=f"{kind}.params")
        try:
            return spec.params.model_validate(params)
        except ValidationError as exc:
            raise ConfigError(describe_validation_error(exc, prefix=f"{kind}.params", model=spec.params)) from None

    @overload
    def build(
        self, kind: Literal["environment"], name: str, params: dict[str, Any] | None = None
    ) -> interfaces.Environment: ...
    @overload
    def build(
        self, kind: Literal["teacher"], name: str, params: dict[str, Any] | None = None
    ) -> interfaces.Teacher: ...
    @overload
    def build(
        self, kind: Literal["student"], name: str, params: dict[str, Any] | None = None
    ) -> interfaces.Student: ...
    @overload
    def build(
        self, kind: Literal["interaction"], name: str, params: dict[str, Any] | None = None
    ) -> interfaces.Interaction: ...
    @overload
    def build(self, kind: Literal["exam"], name: str, params: Params = None) -> interfaces.Exam: ...
    @overload
    def build(
        self, kind: Literal["executor"], name: str, params: dict[str, Any] | None = None
    ) -> interfaces.Executor: ...
    @overload
    def build(
        self, kind: Literal["tracker"], name: str, params: dict[str, Any] | None = None
    ) -> interfaces.Tracker: ...
    @overload
    def build(
        self, kind: Literal["backend"], name: str, params: dict[str, Any] | None = None
    ) -> interfaces.SweepBackend: ...
    @overload
    def build(
        self, kind: Literal["measure"], name: str, params: dict[str, Any] | None = None
    ) -> interfaces.Measure: ...
    @overload
    def build(self, kind: str, name: str, params: Params = None) -> Any: ...
    def build(self, kind: str, name: str, params: dict[str, Any] | None = None) -> Any:
        """Build a component: check requirements, validate params, call the factory."""
        spec = self.get(kind, name)
        missing = spec.missing_requirements()
        if missing:
            hint = f" Install it with: {spec.install_hint}" if spec.install_hint else ""
            raise ConfigError(
                f"{kind} '{spec.name}' is unavailable: it needs {', '.join(missing)}, which is not installed.{hint}"
            )
        compat.check_api_version(kind, spec.name, spec.api_version)
        validated = self.validate_params(kind, name, params or {})
        try:
            factory = spec.load_factory()
            component = factory(validated)
        except IlmError:
            raise  # the plugin's own one-paragraph error (a config it refuses, a server that does not answer)
        except Exception as exc:
            raise PluginError(
                f"{kind} plugin '{spec.name}' (from {spec.distribution}) failed while being built: "
                f"{type(exc).__name__}: {exc}",
                plugin=spec.name,
                stage="build",
            ) from exc
        component = compat.adapt(kind, spec.name, component)
        interface = getattr(interfaces, KIND_OF[kind].interface)
        if not isinstance(component, interface):
            raise PluginError(
                f"{kind} plugin '{spec.name}' (from {spec.distribution}) built a {type(component).__name__}, "
                f"which is not an ilm_core.{interface.__name__}: its factory must return an instance of a "
                f"subclass of ilm_core.{interface.__name__}",
                plugin=spec.name,
                stage="build",
            )
        return component

    def roadmap_cells(self) -> list[RoadmapCell]:
        """Cells that plugins add to the road map through `ilm_roadmap_cells`."""
        return list(self._collect("ilm_roadmap_cells", RoadmapCell))

    def add_commands(self, cli: Any) -> None:
        """Let every plugin add its commands to the `ilm` command line (`ilm_commands`). A plugin
        whose hook fails is recorded as broken (`ilm plugins` names it); the others still load."""
        hook = self.pm.hook.ilm_commands
        for impl in reversed(hook.get_hookimpls()):
            try:
                impl.function(cli=cli)
            except Exception as exc:
                self._hook_failed(impl, "ilm_commands", exc)

    # -- internals -------------------------------------------------------------------------
    def _hook_failed(self, impl: Any, hook_name: str, exc: Exception) -> None:
        """Record the plugin whose hook raised as broken (once per reason), with its traceback."""
        plugin = impl.plugin
        name = self.pm.get_name(plugin) or repr(plugin)
        reason = f"{hook_name} failed: {type(exc).__name__}: {exc}"
        if not any(b.name == name and b.reason == reason for b in self.broken):
            module = plugin.__name__ if isinstance(plugin, ModuleType) else getattr(plugin, "__module__", None)
            dist = self._dists.get(id(plugin))
            self.broken.append(BrokenPlugin(name, dist, reason, traceback.format_exc(), module))

    def _collect(self, hook_name: str, record_type: type) -> Iterable[Any]:
        hook = getattr(self.pm.hook, hook_name)
        for impl in reversed(hook.get_hookimpls()):
            plugin_name = self.pm.get_name(impl.plugin) or repr(impl.plugin)
            dist = self._dists.get(id(impl.plugin))
            try:
                records = list(impl.function() or ())
                for record in records:
                    if not isinstance(record, record_type):
                        raise TypeError(
                            f"{hook_name} must yield {record_type.__name__} records, got {type(record).__name__}"
                        )
            except Exception as exc:
                self._hook_failed(impl, hook_name, exc)
                continue
            for record in records:
                if isinstance(record, PluginSpec):
                    record = record.model_copy(update={"distribution": dist})
                elif isinstance(record, RoadmapCell) and record.contributed_by is None:
                    record = record.model_copy(update={"contributed_by": f"{plugin_name} ({dist})"})
                yield record


def load_error(exc: BaseException) -> str:
    """Why a plugin failed to import, in one line; a syntax error names its file and line."""
    if isinstance(exc, SyntaxError) and exc.filename:
        return f"{type(exc).__name__}: {exc.msg} ({exc.filename}, line {exc.lineno})"
    return f"{type(exc).__name__}: {exc}"


def _may_provide(broken: BrokenPlugin, name: str) -> bool:
    """Whether a broken plugin is likely the one that provides `name` (its entry point or package is named so)."""
    names = {broken.name.lower(), (broken.distribution or "").lower()}
    return bool(names & {name, f"ilm-{name}", f"ilm_{name.replace('-', '_')}", name.replace("-", "_")})


def _new_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs.IlmSpecs)
    return pm


#: what a scalar field allows, said to a user whose value pydantic would have converted silently
_SCALARS = {
    bool: "true or false (not a string or a number)",
    int: "a whole number (true/false is not one)",
    float: "a number (true/false is not one)",
}


def check_scalar_types(model: type[BaseModel], params: Any, prefix: str) -> None:
    """Refuse a value that pydantic would convert silently into a number or a flag: `true` for a
    count (it would become 1), `"yes"` or `1` for a flag. Fields of any other type are left to the model."""
    if not isinstance(params, dict):
        return
    for name, value in params.items():
        field = model.model_fields.get(name)
        if field is None or value is None:
            continue
        annotation = field.annotation
        kinds = (
            set(typing.get_args(annotation))
            if typing.get_origin(annotation) in (typing.Union, types.UnionType)
            else {annotation}
        )
        kinds.discard(type(None))
        if not kinds or not kinds <= set(_SCALARS):
            continue
        if isinstance(value, bool):
            ok = bool in kinds
        elif isinstance(value, int | float):
            ok = bool(kinds & {int, float}) and (float in kinds or isinstance(value, int) or value.is_integer())
        else:
            ok = False
        if not ok:
            allowed = " or ".join(
                _SCALARS[k] for k in (bool, int, float) if k in kinds and not (k is int and float in kinds)
            )
            raise ConfigError(f"'{prefix}.{name}' = {value!r} is invalid: {allowed} is allowed.")


def describe_validation_error(
    exc: ValidationError, prefix: str, model: type[BaseModel] | None = None, renamed: dict[str, str] | None = None
) -> str:
    """One paragraph naming each bad field, its value and what is allowed (`renamed`: old name -> the
    name a field has now, suggested for an unknown name before any close spelling)."""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        where = f"{prefix}.{loc}" if loc else prefix
        if err["type"] == "extra_forbidden":
            allowed = ", ".join(model.model_fields) if model is not None else ""
            allowed_text = f" Allowed names: {allowed}." if allowed else " This component takes no params."
            name = str(err["loc"][-1])
            close = [renamed[name]] if renamed and name in renamed else []
            close = close or difflib.get_close_matches(name, list(model.model_fields) if model else [], n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            parts.append(f"unknown param '{where}'.{hint}{allowed_text}")
        else:
            parts.append(f"'{where}' = {err.get('input')!r} is invalid: {err['msg']}.")
    return " ".join(parts)


@functools.cache
def default_registry() -> Registry:
    """The registry of every installed plugin, loaded once per process and shared by whoever asks
    (the `ilm` commands). An experiment that must not share plugins with another in the same
    process takes its own: `Registry.installed()`.
    """
    return Registry.installed()
