"""Package files every `ilm new-plugin` kind shares: pyproject.toml and README.md."""

PYPROJECT = """\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "${dist}"
version = "0.1.0"
description = "${summary}"
readme = "README.md"
requires-python = ">=3.11"
dependencies = ["ilm"]

[project.optional-dependencies]
test = ["pytest>=8"]

# ilm finds plugins through this entry-point group: the name on the left must be unique
# among installed ilm plugins, the right side is the module with the @hookimpl functions.
[project.entry-points.ilm]
${name} = "${module}"

[tool.setuptools]
packages = ["${module}"]
"""

README = """\
# ${dist}

An ilm plugin that adds the ${kind} `${name}`: ${summary}.

## Install

```bash
pip install -e .          # in the environment where ilm is installed
ilm plugins               # lists ${kind} ${name} from ${dist}
ilm roadmap               # shows the road-map cells it implements
```

## Use

```bash
${run_example}
ilm run --help            # every option
```

${params_hint}

Its params are the fields of `${params}` in `${module}/__init__.py`; each has a default and
a description, and `ilm run --dry-run` shows the values a run will use.

## Develop

- `${module}/__init__.py` holds everything: the params model, the component
  (`${cls}`) and the `@hookimpl` function that registers it.
- The `roadmap=` field names the cells of the paper's Table 1 it implements
  (`ilm roadmap` lists every id); a claimed cell shows as partial until a study with an
  ablation of its mechanism is recorded (ilm's roadmap/README.md). To add a step that is not
  in the table yet, uncomment
  the `ilm_roadmap_cells` hook and name the new cell's id in `roadmap=`.
- `pytest` runs `tests/`, which registers the module in a fresh registry in-process: no
  install needed to test it.
- `ILM_NO_PLUGINS=1 ilm ...` runs ilm with its built-in plugins only, should this one break.

See ilm's `docs/writing-plugins.md` for every hook, message and interface.
"""
