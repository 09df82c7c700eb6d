"""Calling the lifecycle hooks (observers) so that one that raises is named, like any plugin."""

from __future__ import annotations

from typing import Any

import pluggy

from ilm_core.errors import IlmError, PluginError


def call_observers(pm: pluggy.PluginManager, hook_name: str, **kwargs: Any) -> None:
    """Call every implementation of `hook_name`; an exception becomes a `PluginError` naming
    the plugin whose implementation raised and the hook (the stage)."""
    try:
        getattr(pm.hook, hook_name)(**kwargs)
    except (IlmError, KeyboardInterrupt):
        raise
    except BaseException as exc:
        plugin = _raising_plugin(pm, hook_name, exc)
        what = "called sys.exit()" if isinstance(exc, SystemExit) else f"raised {type(exc).__name__}: {exc}"
        raise PluginError(
            f"observer plugin '{plugin}' {what} in the lifecycle hook {hook_name}(). Fix or uninstall the "
            "plugin (`ilm plugins` lists where it comes from), or run with ILM_NO_PLUGINS=1 to use only the "
            "built-ins.",
            plugin=plugin,
            stage=hook_name,
        ) from exc


def _raising_plugin(pm: pluggy.PluginManager, hook_name: str, exc: BaseException) -> str:
    """The registered name of the plugin whose hook function is in the exception's traceback."""
    codes = {}
    for impl in getattr(pm.hook, hook_name).get_hookimpls():
        func = getattr(impl.function, "__func__", impl.function)
        code = getattr(func, "__code__", None)
        if code is not None:
            codes[code] = pm.get_name(impl.plugin) or repr(impl.plugin)
    tb = exc.__traceback__
    while tb is not None:
        name = codes.get(tb.tb_frame.f_code)
        if name is not None:
            return name
        tb = tb.tb_next
    return "unknown"
