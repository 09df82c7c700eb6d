"""Plugins written for an earlier plugin API: adapted for one version with a warning, or refused.

`PLUGIN_API` is the version of the plugin interfaces this core implements; `CHANGELOG.md` lists
what each version changed. A plugin record may state the version it was written for
(`api_version`): a newer one than the core's, or one older than the last the core still adapts,
is refused when the plugin is built, before any episode, naming the change. A known old form (a
teacher's `select(self, n_students, episode)`) is adapted with a `PluginAPIWarning` naming the
new form.
"""

from __future__ import annotations

import inspect
import warnings
from typing import Any

from ilm_core.errors import PluginError

#: the plugin API this core implements (CHANGELOG.md)
PLUGIN_API = 3
#: the oldest API whose plugins are still adapted (with a warning) rather than refused
OLDEST_ADAPTED = 2

DOCS = "docs/writing-plugins.md#a-teachers-methods-and-what-the-defaults-do"


def moved(old: str, module: str, attr: str) -> Any:
    """A name that moved out of the core, for one more plugin API: `module.attr`, with a
    DeprecationWarning (pointing at the caller's import) that names the new home."""
    import importlib

    warnings.warn(
        f"{old} moved to {module}.{attr}; import it from there (the old name goes with plugin API "
        f"{PLUGIN_API + 1}, see CHANGELOG.md)",
        DeprecationWarning,
        stacklevel=3,
    )
    return getattr(importlib.import_module(module), attr)


class PluginAPIWarning(FutureWarning):
    """A plugin uses a form of the plugin API that a later version of ilm will refuse (shown by default)."""


def check_api_version(kind: str, name: str, version: int | None) -> None:
    """Refuse a plugin whose record states an API this core does not serve."""
    if version is None or OLDEST_ADAPTED <= version <= PLUGIN_API:
        return
    if version > PLUGIN_API:
        why = f"a newer ilm (plugin API {version}; this ilm implements {PLUGIN_API}): upgrade ilm"
    else:
        why = (
            f"plugin API {version}, which this ilm no longer adapts (it implements {PLUGIN_API} and adapts "
            f"{OLDEST_ADAPTED} and later): update the plugin as CHANGELOG.md describes for each version"
        )
    raise PluginError(f"{kind} plugin '{name}' was written for {why}", plugin=name, stage="build")


def adapt(kind: str, name: str, component: Any) -> Any:
    """The component, with any known old form adapted to the current API (and a warning)."""
    if kind == "teacher" and _old_select(component):
        return _adapt_select(name, component)
    return component


def _old_select(teacher: Any) -> bool:
    """Whether `select` has the plugin API 1 form `select(self, n_students, episode)`."""
    try:
        parameters = inspect.signature(teacher.select).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [p.name for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return positional == ["n_students", "episode"]


def _adapt_select(name: str, teacher: Any) -> Any:
    from ilm_core.interfaces import RoundContext, fit_to_round

    warnings.warn(
        f"teacher plugin '{name}' implements select(self, n_students, episode), the form of plugin API 1; since "
        "API 2 a teacher implements select(self, context: RoundContext) (context.n_students, context.episode, "
        f"context.size, ...; {DOCS}). ilm adapts it for now, keeping each lesson's first context.size sentences "
        "the student has not received (fit_to_round); a later version will refuse it.",
        PluginAPIWarning,
        stacklevel=3,
    )
    old = teacher.select

    def select(context: RoundContext) -> Any:
        return fit_to_round(old(context.n_students, context.episode), context)

    teacher.select = select
    return teacher
