"""Templates of `ilm new-plugin`: one module per component kind, plus the package files.

Each template is a `string.Template` (placeholders `${name}`, `${module}`, ...), so the code
inside it stays plain Python that ruff and a reader can follow. `render` fills them in.
"""

from __future__ import annotations

import importlib
from string import Template

#: component kinds `ilm new-plugin --kind` can write, and the template module of each
SUPPORTED_KINDS: tuple[str, ...] = ("teacher", "environment", "interaction", "measure")


def names(name: str) -> dict[str, str]:
    """Every spelling of a plugin name the templates need ("my-teacher" -> "ilm_my_teacher", ...)."""
    camel = "".join(part.capitalize() for part in name.split("-"))
    return {
        "name": name,
        "dist": f"ilm-{name}",
        "module": "ilm_" + name.replace("-", "_"),
        "snake": name.replace("-", "_"),
        "cls": camel,
        "params": f"{camel}Params",
    }


def render(kind: str, name: str) -> dict[str, str]:
    """The files of a new plugin package, by path relative to its folder."""
    from ilm_devkit.templates import common

    if kind not in SUPPORTED_KINDS:
        raise ValueError(f"unsupported kind {kind!r}")
    template = importlib.import_module(f"ilm_devkit.templates.{kind}")
    values = names(name) | {"kind": kind}
    # the kind's own texts hold placeholders too (`--teacher ${name}`): fill them before they are used
    hint = getattr(template, "PARAMS_HINT", "`--set ${kind}.PARAM=VALUE` sets one of its params.")
    values |= {
        key: Template(text).substitute(values)
        for key, text in (("summary", template.SUMMARY), ("run_example", template.RUN_EXAMPLE), ("params_hint", hint))
    }
    module = values["module"]
    files = {
        "pyproject.toml": common.PYPROJECT,
        "README.md": common.README,
        f"{module}/__init__.py": template.MODULE,
        f"tests/test_{module}.py": template.TEST,
    }
    return {path: Template(text).substitute(values) for path, text in files.items()}
