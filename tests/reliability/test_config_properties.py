"""Property-based tests of the config loader and the `--set` parser (hypothesis)."""

from __future__ import annotations

import json
import math
import string
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ilm_core.config import COMPONENTS, apply_overrides, assemble, parse_set, resolve
from ilm_core.errors import ConfigError
from ilm_core.registry import Registry

QUICK = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_registry: Registry | None = None


def registry() -> Registry:
    """The installed plugins, loaded once for every example."""
    global _registry
    if _registry is None:
        _registry = Registry()
        _registry.load_entry_points()
    return _registry


names = st.text(alphabet=string.ascii_lowercase + "_", min_size=1, max_size=8)
ints = st.integers(min_value=-(2**63), max_value=2**63 - 1)
floats = st.floats(allow_nan=True, allow_infinity=True)
texts = st.text(max_size=20)


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    return type(a) is type(b) and a == b


# -- the --set parser: round trips ---------------------------------------------------------
@pytest.mark.slow
@QUICK
@given(path=st.lists(names, min_size=1, max_size=4), value=st.one_of(st.booleans(), ints, floats, texts))
def test_set_puts_any_scalar_where_the_path_says(path: list[str], value: Any) -> None:
    assume(path[0] not in COMPONENTS)
    if isinstance(value, bool):
        text = json.dumps(value)  # true / false
    elif isinstance(value, float):
        text = repr(value)  # Python's spelling, inf and nan included
    elif isinstance(value, str):
        text = json.dumps(value)  # a quoted string is always a string
    else:
        text = str(value)
    key, parsed = parse_set(f"{'.'.join(path)}={text}")
    assert key == path and same(parsed, value)
    node: Any = apply_overrides({}, [f"{'.'.join(path)}={text}"])
    for part in path:
        node = node[part]
    assert same(node, value)


@QUICK
@given(text=texts)
def test_unquoted_text_that_is_not_json_lands_as_itself(text: str) -> None:
    try:
        json.loads(text)
        assume(False)
    except (ValueError, RecursionError):
        pass
    assume(text.strip().lower() not in ("inf", "+inf", "-inf", "nan"))
    assert parse_set(f"a.b={text}") == (["a", "b"], text)


@QUICK
@given(kind=st.sampled_from(COMPONENTS), param=names, value=ints)
def test_set_on_a_component_means_its_params(kind: str, param: str, value: int) -> None:
    assume(param not in ("name", "params"))
    assert parse_set(f"{kind}.{param}={value}") == ([kind, "params", param], value)
    assert parse_set(f"{kind}.name=x") == ([kind, "name"], "x")


# -- a file and --set resolve alike ---------------------------------------------------------
top_level = st.fixed_dictionaries(
    {},
    optional={
        "seed": st.integers(min_value=-(2**62), max_value=2**62),
        "episodes": st.integers(min_value=1, max_value=10**6),
        "n_students": st.integers(min_value=1, max_value=10**4),
        "budget": st.integers(min_value=1, max_value=100),
        "checkpoint_every": st.integers(min_value=1, max_value=50),
        "keep_checkpoints": st.integers(min_value=1, max_value=50),
        "on_diverged": st.sampled_from(["worst", "stop"]),
        "device": st.text(alphabet=string.ascii_letters + string.digits + ":-_", min_size=1, max_size=8),
    },
)
student_params = st.fixed_dictionaries(
    {},
    optional={
        "lr": st.floats(min_value=1e-12, max_value=1e6),
        "dropout": st.floats(min_value=0, max_value=0.99),
        "updates": st.integers(min_value=0, max_value=10**4),
        "positions": st.sampled_from(["learned", "sinusoidal"]),
    },
)
environment_params = st.fixed_dictionaries(
    {},
    optional={
        "pool_size": st.integers(min_value=1, max_value=10**5),
        "pool_exam_fraction": st.floats(min_value=0, max_value=1),
        "exam_vocabulary": st.lists(st.sampled_from("abcdefghij"), min_size=1, max_size=5, unique=True),
    },
)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float | int):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(value)


def to_toml(top: dict[str, Any], sections: dict[str, dict[str, Any]]) -> str:
    lines = [f"{k} = {toml_value(v)}" for k, v in top.items()]
    for kind, params in sections.items():
        lines.append(f"[{kind}.params]")
        lines += [f"{k} = {toml_value(v)}" for k, v in params.items()]
    return "\n".join(lines) + "\n"


def set_text(value: Any) -> str:
    return json.dumps(value) if isinstance(value, str | list | bool) else repr(value)


@QUICK
@given(
    top=top_level, student=student_params, environment=environment_params, fmt=st.sampled_from(["toml", "json", "yaml"])
)
def test_a_config_file_resolves_like_the_same_values_given_by_set(
    top: dict[str, Any], student: dict[str, Any], environment: dict[str, Any], fmt: str
) -> None:
    sections = {k: v for k, v in (("student", student), ("environment", environment)) if v}
    nested = {**top, **{kind: {"params": params} for kind, params in sections.items()}}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"exp.{fmt}"
        if fmt == "toml":
            path.write_text(to_toml(top, sections))
        elif fmt == "json":
            path.write_text(json.dumps(nested))
        else:
            path.write_text(yaml.safe_dump(nested))
        from_file = resolve(assemble(config_file=path), registry())
    overrides = [f"{k}={set_text(v)}" for k, v in top.items()]
    overrides += [f"{kind}.{k}={set_text(v)}" for kind, params in sections.items() for k, v in params.items()]
    from_set = resolve(assemble(overrides=overrides), registry())
    assert from_file == from_set
    dumped = from_set.model_dump()
    for key, value in top.items():
        assert dumped[key] == value
    for kind, params in sections.items():
        for key, value in params.items():
            assert dumped[kind]["params"][key] == value


# -- junk never escapes as anything but ConfigError -------------------------------------------
junk_scalars = st.one_of(st.none(), st.booleans(), ints, floats, texts, st.binary(max_size=8).map(repr))
junk = st.recursive(
    junk_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.one_of(names, texts), inner, max_size=3)),
    max_leaves=12,
)
known_keys = st.sampled_from(
    ["seed", "episodes", "students", "budget", "device", "on_diverged", "checkpoint_every", *COMPONENTS]
)
component_junk = st.fixed_dictionaries(
    {},
    optional={"name": st.one_of(st.sampled_from(["select-bin", "random", "domains", "batched"]), junk), "params": junk},
)
raw_configs = st.dictionaries(st.one_of(known_keys, texts), st.one_of(junk, component_junk), max_size=5)


def only_config_errors(call: Any, *args: Any) -> Any:
    try:
        return call(*args)
    except ConfigError:
        return None


@QUICK
@given(raw=raw_configs)
def test_junk_configs_raise_only_config_errors(raw: dict[str, Any]) -> None:
    only_config_errors(resolve, raw, registry())


@QUICK
@given(
    items=st.lists(
        st.one_of(texts, st.builds(lambda k, v: f"{k}={v}", st.one_of(known_keys, texts), texts)), max_size=4
    )
)
def test_junk_set_items_raise_only_config_errors(items: list[str]) -> None:
    raw = only_config_errors(assemble, None, None, items)
    if raw is not None:
        only_config_errors(resolve, raw, registry())


@pytest.mark.slow
@QUICK
@given(
    data=st.one_of(
        st.binary(max_size=200),
        st.text(max_size=200).map(str.encode),
        raw_configs.map(lambda d: json.dumps(d, default=str).encode()),
        st.sampled_from(
            [
                b"seed = 1979-05-27T07:32:00Z\n",
                b"episodes: !!binary aGk=\n",
                b"? [a, b]\n: 1\n",
                b"[" * 1200,
                b"a = " + b"[" * 1200,
                b"a: *x\n",
            ]
        ),
    ),
    suffix=st.sampled_from([".toml", ".json", ".yaml", ".yml"]),
)
def test_junk_config_files_raise_only_config_errors(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"junk{suffix}"
        path.write_bytes(data)
        raw = only_config_errors(assemble, path, {"episodes": 3}, ["student.lr=0.1"])
    if raw is not None:
        only_config_errors(resolve, raw, registry())


@pytest.mark.parametrize("text", ["seed = 1979-05-27\n", "[teacher]\nname = 1979-05-27\n"])
def test_toml_dates_are_a_config_error_not_a_crash(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "dates.toml"
        path.write_text(text)
        with pytest.raises(ConfigError, match="1979"):
            resolve(assemble(config_file=path, overrides=["episodes=2"]), registry())
