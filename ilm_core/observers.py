"""Everything that watches a run, behind one rule.

Three kinds of watcher see a run's lifecycle (`ilm_run_start`, `ilm_episode_end`,
`ilm_run_end`): plugins that implement those hooks, the trackers a config names (`trackers`), and
the observers a caller passes (`ilm run`'s progress display). They are called in that order, each
on its own, through one guard: a watcher that raises is reported once, naming it and the hook, and
switched off for the rest of the run; the run goes on, its own files are written as without it,
and `summary.json` lists what was switched off (`switched_off`). A watcher watches: it never
decides whether a run succeeds. An `IlmError` or Ctrl-C raised by a watcher still stops the run.

Each run makes its own `Watchers`, so two experiments in one process never see each other's
trackers or observers; nothing is registered on the registry's plugin manager.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pluggy

from ilm_core.config import ExperimentConfig
from ilm_core.errors import IlmError
from ilm_core.messages import EnvironmentData
from ilm_core.rundir import RunDir

HOOKS = ("ilm_run_start", "ilm_episode_end", "ilm_run_end")


@dataclass
class RunInfo:
    """What lifecycle hooks see of a run."""

    config: ExperimentConfig
    run_dir: RunDir
    first_episode: int
    executor: str
    environment: EnvironmentData


@dataclass
class Watcher:
    """One watcher: a name for messages and, per hook, the function to call."""

    name: str
    kind: str  # "plugin", "tracker" or "observer"
    calls: dict[str, Callable[..., Any]]
    close: Callable[[], None] | None = None


@dataclass
class Watchers:
    """The watchers of one run; `failed` maps a switched-off watcher to why."""

    watchers: list[Watcher]
    notify: Callable[[str], None] = lambda message: None
    failed: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        pm: pluggy.PluginManager,
        trackers: dict[str, Any] | None = None,
        observers: list[Any] = (),  # type: ignore[assignment]
        notify: Callable[[str], None] = lambda message: None,
    ) -> Watchers:
        """The plugins implementing the lifecycle hooks, then the run's trackers (name -> tracker),
        then the caller's observers (objects with any of the hook methods)."""
        by_plugin: dict[int, Watcher] = {}
        for hook in HOOKS:
            for impl in reversed(getattr(pm.hook, hook).get_hookimpls()):
                name = pm.get_name(impl.plugin) or repr(impl.plugin)
                watcher = by_plugin.setdefault(id(impl.plugin), Watcher(name, "plugin", {}))
                watcher.calls[hook] = impl.function
        watchers = list(by_plugin.values())
        for name, tracker in (trackers or {}).items():
            watchers.append(Watcher(name, "tracker", _methods(tracker), getattr(tracker, "close", None)))
        for observer in observers:
            watchers.append(Watcher(type(observer).__name__, "observer", _methods(observer)))
        return cls(watchers, notify)

    def call(self, hook: str, **kwargs: Any) -> None:
        """Call `hook` on every watcher still on; one that raises is reported and switched off."""
        for watcher in self.watchers:
            function = watcher.calls.get(hook)
            if function is None or watcher.name in self.failed:
                continue
            try:
                function(**kwargs)
            except (IlmError, KeyboardInterrupt):
                raise
            except BaseException as exc:  # SystemExit too: a watcher never ends the run
                self._switch_off(watcher, hook, exc)

    def close(self) -> None:
        """Close the trackers: one that failed already is closed quietly."""
        for watcher in self.watchers:
            if watcher.close is None:
                continue
            try:
                watcher.close()
            except Exception as exc:
                if watcher.name not in self.failed:
                    self._switch_off(watcher, "close", exc)

    def _switch_off(self, watcher: Watcher, hook: str, exc: BaseException) -> None:
        what = "called sys.exit()" if isinstance(exc, SystemExit) else f"{type(exc).__name__}: {exc}"
        self.failed[watcher.name] = f"{hook}: {what}"
        self.notify(
            f"{watcher.kind} '{watcher.name}' failed in {hook}(): {what}. It is switched off for the rest of "
            "this run; the run goes on and its own files are not affected (summary.json lists it under "
            "switched_off)."
        )


def _methods(obj: Any) -> dict[str, Callable[..., Any]]:
    """The lifecycle hooks an object implements, as keyword-callable functions."""
    return {hook: getattr(obj, hook) for hook in HOOKS if callable(getattr(obj, hook, None))}
