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
            except (IlmError, KeyboardInterrupt, GeneratorExit):
                raise
            except (Exception, SystemExit) as exc:  # a plugin's sys.exit() must not end ilm without a word
                stage = _stage(self._obj, attr, exc)
                if isinstance(exc, SystemExit):
                    what = f"called sys.exit({exc.code!r}) in {stage}()"
                else:
                    what = f"raised in {stage}(): {type(exc).__name__}: {exc}"
                raise PluginError(
                    f"{self._kind} plugin '{self._name}' {what}",
                    plugin=self._name,
                    stage=stage,
                ) from exc

        return call


def _stage(obj: Any, attr: str, exc: BaseException) -> str:
    """The interface method that raised: `select`, not the default `select_round` that called it.

    The innermost frame of the traceback that runs a method of `obj` named as in an ilm_core
    interface; `attr` (the method the core called) when there is none.
    """
    interface = {name for cls in type(obj).__mro__ if cls.__module__.startswith("ilm_core.") for name in vars(cls)}
    stage, tb = attr, exc.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_code.co_name in interface and frame.f_locals.get("self") is obj:
            stage = frame.f_code.co_name
        tb = tb.tb_next
    return stage
