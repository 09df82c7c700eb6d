"""Wrap a plugin object so that an exception from any of its methods names the plugin and the stage."""

from __future__ import annotations

from typing import Any

from ilm_core.errors import IlmError, PluginError


class Guarded:
    """Wraps a plugin object so an exception from any of its methods names the plugin."""

    def __init__(self, obj: Any, kind: str, name: str):
        self._obj, self._kind, self._name = obj, kind, name

    def __getattr__(self, attr: str) -> Any:
        value = getattr(self._obj, attr)
        if not callable(value):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return value(*args, **kwargs)
            except PluginError as exc:
                if exc.plugin is None:  # raised by the core on the plugin's behalf (a forbidden read)
                    exc.plugin, exc.stage = self._name, attr
                    exc.args = (f"{self._kind} plugin '{self._name}' in {attr}(): {exc}",)
                raise
            except (IlmError, KeyboardInterrupt):
                raise
            except Exception as exc:
                raise PluginError(
                    f"{self._kind} plugin '{self._name}' raised in {attr}(): {type(exc).__name__}: {exc}",
                    plugin=self._name,
                    stage=attr,
                ) from exc

        return call
