"""Trackers chosen by name for one run, each behind a guard.

`trackers` in the config (or `--tracker tensorboard,mlflow`) names them, with their params:
`{"mlflow": {"experiment": "task1"}}`. A run calls its trackers like every other watcher
(`ilm_core.observers`): a tracker's first error is reported once, naming the tracker and the
hook, and the tracker is switched off; the run goes on and its own files are written as without it.
"""

from __future__ import annotations

from typing import Any

from ilm_core.errors import ConfigError
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


def build_trackers(config: Any, registry: Any) -> dict[str, Tracker]:
    """The config's trackers by name, built (a missing extra is a ConfigError naming it); the run
    calls them through `ilm_core.observers.Watchers`, like every other watcher."""
    return {name: registry.build("tracker", name, params) for name, params in (config.trackers or {}).items()}
