"""Trackers chosen by name for one run, each behind a guard.

`trackers` in the config (or `--tracker tensorboard,mlflow`) names them, with their params:
`{"mlflow": {"experiment": "task1"}}`. Each is registered on the plugin manager for that run
only, wrapped in a `TrackerGuard`: a tracker's first error is reported once, naming the
tracker and the hook, and the tracker is switched off; the run goes on and its own files
(metrics.jsonl, checkpoints, summary.json) are written as without it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ilm_core.errors import ConfigError
from ilm_core.hookspecs import hookimpl
from ilm_core.interfaces import Tracker

ALLOWED = (
    "a comma-separated string of tracker names ('tensorboard,mlflow'), a list of names, or a table of "
    "name -> params ({mlflow = {experiment = 'task1'}}); `ilm plugins` lists the installed trackers"
)


def parse_trackers(value: Any) -> dict[str, dict[str, Any]]:
    """Every spelling of the `trackers` field as one form: tracker name -> its params."""
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        value = value.split(",")
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list | tuple):
        items = []
        for item in value:
            if isinstance(item, dict) and isinstance(item.get("name"), str) and set(item) <= {"name", "params"}:
                items.append((item["name"], item.get("params")))
            else:
                items.append((item, None))
    else:
        raise ConfigError(f"trackers = {value!r} is invalid: give {ALLOWED}")
    result: dict[str, dict[str, Any]] = {}
    for name, params in items:
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"trackers = {value!r} is invalid: {name!r} is not a tracker name; give {ALLOWED}")
        if params is not None and not isinstance(params, dict):
            raise ConfigError(
                f"trackers.{name.strip()} = {params!r} is invalid: a tracker's params are a table of settings"
            )
        result[name.strip().lower()] = dict(params or {})
    return result


def choose_trackers(current: Any, names: str) -> dict[str, dict[str, Any]]:
    """`--tracker a,b`: exactly these trackers, keeping the params the config gave any of them."""
    configured = parse_trackers(current)
    return {name: configured.get(name, params) for name, params in parse_trackers(names).items()}


class TrackerGuard:
    """Calls one tracker's hooks; its first error is one notice and switches it off."""

    def __init__(self, name: str, tracker: Tracker, notify: Callable[[str], None]):
        self.name, self.tracker, self.notify = name, tracker, notify
        self.failed = False

    def _call(self, hook: str, *args: Any) -> None:
        if self.failed:
            return
        try:
            getattr(self.tracker, hook)(*args)
        except Exception as exc:
            self.failed = True
            self.notify(
                f"tracker '{self.name}' failed in {hook}: {type(exc).__name__}: {exc}. It is switched off for the "
                "rest of this run; the run goes on and its own files are not affected."
            )

    @hookimpl
    def ilm_run_start(self, run: Any) -> None:
        self._call("ilm_run_start", run)

    @hookimpl
    def ilm_episode_end(self, run: Any, record: Any) -> None:
        self._call("ilm_episode_end", run, record)

    @hookimpl
    def ilm_run_end(self, run: Any, summary: dict[str, Any]) -> None:
        self._call("ilm_run_end", run, summary)

    def close(self) -> None:
        if not self.failed:
            self._call("close")
            return
        try:  # already reported: release what it holds, quietly
            self.tracker.close()
        except Exception:
            pass


def build_trackers(config: Any, registry: Any, notify: Callable[[str], None]) -> list[TrackerGuard]:
    """The config's trackers, built (a missing extra is a ConfigError naming it) and guarded."""
    return [
        TrackerGuard(name, registry.build("tracker", name, params), notify)
        for name, params in (config.trackers or {}).items()
    ]
