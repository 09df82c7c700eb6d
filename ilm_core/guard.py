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
            except (IlmError, KeyboardInterrupt, GeneratorExit):
                raise
            except (Exception, SystemExit) as exc:  # a plugin's sys.exit() must not end ilm without a word
                if isinstance(exc, SystemExit):
                    what = f"called sys.exit({exc.code!r}) in {attr}()"
                else:
                    what = f"raised in {attr}(): {type(exc).__name__}: {exc}"
                raise PluginError(
                    f"{self._kind} plugin '{self._name}' {what}",
                    plugin=self._name,
                    stage=attr,
                ) from exc

        return call
