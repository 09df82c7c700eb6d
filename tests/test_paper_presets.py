"""The paper presets hide nothing, describe themselves truly, and dry-run on a CPU with an estimate."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from ilm_core.config import assemble, resolve
from ilm_core.registry import default_registry
from ilm_devkit.estimate import FIGURES, Figure, estimate_lines, gpu_devices, load_figures

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
PRESETS = sorted(CONFIGS.glob("paper-task*.toml"))
COMPONENTS = ("environment", "teacher", "student", "interaction", "exam", "executor")
TASK_OF_ENV = {"domains": 1, "structures": 2}
SOURCE = re.compile(r"#\s*(paper, (Sec\.|App\.|Table|Figure)|ours)")
UNSET = re.compile(r"^#\s*(\w+)\s*=\s*unset\b")


def resolved(path: Path) -> dict[str, Any]:
    return resolve(assemble(path, {}, []), default_registry()).model_dump(mode="json")


def sections(path: Path) -> dict[str, list[str]]:
    """Lines of each TOML table ('' = top level), in file order."""
    out: dict[str, list[str]] = {"": []}
    current = ""
    for line in path.read_text().splitlines():
        header = re.match(r"^\[([\w.]+)\]", line)
        if header:
            current = header.group(1)
            out[current] = []
        else:
            out[current].append(line)
    return out


def declared(path: Path) -> dict[str, set[str]]:
    """Keys each table sets, plus keys written as `# key = unset` (a None no TOML can hold)."""
    raw = tomllib.loads(path.read_text())
    keys: dict[str, set[str]] = {"": {k for k, v in raw.items() if not isinstance(v, dict)}}
    for part in COMPONENTS:
        keys[part] = {k for k in raw.get(part, {}) if k != "params"}
        keys[f"{part}.params"] = set(raw.get(part, {}).get("params", {}))
    for table, lines in sections(path).items():
        for line in lines:
            m = UNSET.match(line.strip())
            if m:
                keys.setdefault(table, set()).add(m.group(1))
    return keys


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.name)
def test_a_paper_preset_declares_every_setting(path):
    """No setting is left to a library default: every field the run resolves is written in the file."""
    config, keys = resolved(path), declared(path)
    top = {k for k in config if k not in COMPONENTS and k not in ("trackers", "population")}
    missing = sorted(top - keys[""])
    for part in COMPONENTS:
        if "name" not in keys[part]:
            missing.append(f"{part}.name")
        missing += [f"{part}.params.{k}" for k in sorted(set(config[part]["params"]) - keys[f"{part}.params"])]
    assert not missing, f"{path.name} leaves these to the library's defaults: {missing}"


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.name)
def test_every_setting_of_a_paper_preset_names_its_source(path):
    """Beside each setting: the paper's section, or "ours" where the paper does not state it."""
    bare = []
    for table, lines in sections(path).items():
        for line in lines:
            text = line.strip()
            if not text or text.startswith("#") or text.startswith("description"):
                continue
            if not SOURCE.search(text):
                bare.append(f"[{table}] {text}")
    assert not bare, f"{path.name}: settings without 'paper, <section>' or 'ours' beside them: {bare}"


def config_numbers(config: dict[str, Any], raw: dict[str, Any]) -> set[float]:
    """Every number the preset sets, with the sweep's, the GPU count and fractions as percentages."""
    found: set[float] = set()

    def walk(value: Any) -> None:
        if isinstance(value, bool):
            return
        if isinstance(value, int | float):
            found.add(float(value))  # a description's "20%" is read as 0.2
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list | tuple):
            for v in value:
                walk(v)

    walk(config)
    walk(raw.get("sweep", {}))
    found.add(float(gpu_devices(config)))
    return found


def description_numbers(text: str) -> list[tuple[str, float]]:
    """Numbers of the description, leaving out commands and file names in backticks and references to the
    paper's own sections, tables and figures."""
    text = re.sub(r"`[^`]*`", " ", text)
    text = re.sub(r"\b(Sec\.|App\.|Table|Figure|Appendix|Section)\s*[A-Z]?[\d.]+[a-z]?(/\d*[a-z])?", " ", text)
    text = re.sub(r"\bTask \d\b", " ", text)
    found = []
    for m in re.finditer(r"(?<![\w.])(\d+(?:\.\d+)?(?:e-?\d+)?)(%?)", text):
        value = float(m.group(1))
        found.append((m.group(0), round(value / 100, 6) if m.group(2) else value))
    return found


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.name)
def test_a_preset_description_names_its_own_task_and_numbers(path):
    raw = tomllib.loads(path.read_text())
    config = resolved(path)
    task = TASK_OF_ENV[config["environment"]["name"]]
    named = {int(t) for t in re.findall(r"\bTask (\d)\b", raw["description"])}
    assert named == {task}, f"{path.name} is Task {task}; its description names Task {sorted(named)}"
    layers, dim = config["student"]["params"]["layers"], config["student"]["params"]["dim"]
    assert f"{layers}x{dim}" in raw["description"], f"{path.name}: the description does not name its {layers}x{dim}"
    numbers = config_numbers(config, raw)
    wrong = [shown for shown, value in description_numbers(raw["description"]) if value not in numbers]
    assert not wrong, f"{path.name}: its description names numbers none of its settings hold: {wrong}"


def test_the_description_check_catches_another_task_and_number(tmp_path):
    """The checks above fail on a description copied from the other task (the mistake they guard)."""
    text = (CONFIGS / "paper-task2.toml").read_text()
    copied = re.sub(r"trained 300 updates", "trained 400 updates", text)
    numbers = config_numbers(resolved(CONFIGS / "paper-task2.toml"), tomllib.loads(text))
    assert [s for s, v in description_numbers(tomllib.loads(copied)["description"]) if v not in numbers] == ["400"]
    assert re.findall(r"\bTask (\d)\b", "Task 1 as the paper states it") == ["1"]


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("task[12]-*.toml")) + sorted(CONFIGS.glob("baselines-task*.toml")))
def test_a_task_config_names_no_other_task(path):
    raw = tomllib.loads(path.read_text())
    own = int(re.search(r"task(\d)", path.name).group(1))
    named = {int(t) for t in re.findall(r"\bTask (\d)\b", raw.get("description", ""))}
    assert named <= {own}, f"{path.name} is a Task {own} config; its description names Task {sorted(named)}"


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.name)
def test_a_paper_preset_dry_runs_on_a_cpu_with_its_4_gpu_estimate(cli, path):
    """GPU-ready: multiprocess over 4 GPUs; the dry run works on a machine without one and prints the
    estimated time and memory on one CPU, one GPU and the preset's 4 GPUs."""
    code, out, err = cli("run", "--config", str(path), "--dry-run")
    assert code == 0, err
    config = json.loads(out)
    assert config["executor"]["name"] == "multiprocess"
    assert config["executor"]["params"]["devices"] == ["cuda:0", "cuda:1", "cuda:2", "cuda:3"]
    text = " ".join(err.split())
    assert "one CPU: time" in text and "h (" in text
    assert "one GPU:" in text and "4 GPUs (this config's executor):" in text
    assert "memory 0.97 GB per device (3 students x 324 MB" in text  # 12 students over 4 GPUs


def test_the_estimate_uses_a_measured_bench_file_over_the_recorded_figures(tmp_path):
    config = resolved(CONFIGS / "paper-task1.toml")
    rows = [{"student": "fairseq-lm", "size": "paper", "device": "cuda:0", "updates_per_second": 120.0,
             "memory_mb_per_student": 400.0, "executor": "batched", "students": 12}]  # fmt: skip
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(rows))
    lines = " ".join(estimate_lines(config, load_figures(path)))
    # 40 episodes x 3 students per GPU x 400 updates / 120 per s = 400 s on 4 GPUs; 12 on one: 1600 s
    assert "4 GPUs (this config's executor): time 7 min" in lines and "one GPU: time 27 min" in lines
    assert len(load_figures(path)) == len(FIGURES) + 1


def test_no_figure_for_an_unmeasured_size_says_so():
    config = resolved(CONFIGS / "paper-task1.toml")
    config["student"] = {"name": "transformer-lm", "params": {"layers": 3, "dim": 96, "updates": 20}}
    assert "no `ilm bench` figure" in " ".join(estimate_lines(config, [Figure(student="x", size="cpu", device="cpu")]))
