"""Call a plugin through a guard: an exception from any of its methods names the plugin and the method.

`guard_plugin(teacher, "teacher", "select-bin")` returns an object that behaves as the teacher
(its static type is the teacher's, `isinstance(guarded, Teacher)` holds, attributes read and
write through), except that an exception raised by a method call becomes a `PluginError`
such as "teacher plugin 'select-bin' raised in select(): ...".
"""

from __future__ import annotations

from typing import Any, TypeVar, cast

from ilm_core.errors import IlmError, PluginError

T = TypeVar("T")


class PluginCallGuard:
    """Stands in for a plugin object; every method call that raises is reported naming the plugin.

    It passes for the plugin's class (`__class__`, as `unittest.mock` does), so `isinstance`
    checks see the plugin, not the guard.
    """

    def __init__(self, plugin: Any, kind: str, name: str):
        object.__setattr__(self, "_plugin", plugin)
        object.__setattr__(self, "_kind", kind)
        object.__setattr__(self, "_name", name)

    @property  # type: ignore[misc]  # object.__class__ is writable; this one only reads
    def __class__(self) -> type:
        return type(self._plugin)

    def __setattr__(self, attr: str, value: Any) -> None:
        setattr(self._plugin, attr, value)

    def __getattr__(self, attr: str) -> Any:
        value = getattr(self._plugin, attr)
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
                if isinstance(exc, SystemExit):
                    what = f"called sys.exit({exc.code!r}) in {attr}()"
                else:
                    what = f"raised in {attr}(): {type(exc).__name__}: {exc}"
                raise PluginError(f"{self._kind} plugin '{self._name}' {what}", plugin=self._name, stage=attr) from exc

        return call


def guard_plugin(plugin: T, kind: str, name: str) -> T:
    """`plugin` behind a `PluginCallGuard`, typed as the plugin itself (see the module docstring)."""
    return cast(T, PluginCallGuard(plugin, kind, name))
