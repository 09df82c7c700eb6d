"""Issue "the first hour, round 3": a newcomer's, a plugin author's and a hostile user's first hour."""

from __future__ import annotations

import json
import sys

import pytest
from conftest import TINY, TINY_ANY_TEACHER

from ilm_report.runs import find_runs, group_settings


def test_a_run_directory_records_where_it_came_from_and_inspect_shows_it(cli, tmp_path):
    out = tmp_path / "run"
    code, _, err = cli("run", *TINY, "--out", str(out))
    assert code == 0, err
    document = json.loads((out / "provenance.json").read_text())
    import torch

    from ilm_core import __version__

    assert document["ilm"] == __version__ and document["torch"] == torch.__version__
    assert document["python"] == ".".join(map(str, sys.version_info[:3]))
    assert document["host"] and document["command"] and document["threads"]["threads"] >= 1
    assert document["git"] is None or len(document["git"]["commit"]) == 40
    code, stdout, err = cli("inspect", str(out), "--top", "2")
    assert code == 0, err
    text = " ".join(stdout.split())
    assert "provenance.json" in text and document["host"] in text and f"torch {torch.__version__}" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "budget=true"], "'config.budget' = True is invalid: a whole number"),
        (["--set", "episodes=2.5"], "'config.episodes' = 2.5 is invalid: a whole number"),
        (
            ["--interaction", "send-in-batches", "--set", 'interaction.mid_terms="yes"'],
            "'interaction.params.mid_terms' = 'yes' is invalid: true or false",
        ),
        (["--set", "interaction.mid_terms=1", "--interaction", "send-in-batches"], "true or false"),
        (["--set", "teacher.lr=true"], "'teacher.params.lr' = True is invalid: a number"),
        (["--set", 'environment.exam_vocabulary=["a","b","a"]'], "'a' listed more than once"),
        (
            [
                "--interaction",
                "mid-term-exams",
                "--set",
                "interaction.rounds=1",
                "--set",
                "interaction.reward=mid-terms",
            ],
            "the teacher would never be rewarded",
        ),
    ],
)
def test_values_that_would_be_converted_or_never_used_are_refused(cli, args, message):
    code, _, err = cli("run", "--dry-run", *args)
    assert code == 2, err
    assert message in " ".join(err.split()) and "Traceback" not in err


def test_numbers_and_flags_of_the_right_type_are_still_accepted(cli):
    args = ["--interaction", "send-in-batches", "--set", "interaction.mid_terms=false", "--set", "teacher.lr=1"]
    code, out, err = cli("run", "--dry-run", "--set", "budget=6", *args)
    assert code == 0, err
    resolved = json.loads(out)
    assert resolved["budget"] == 6 and resolved["interaction"]["params"]["mid_terms"] is False
    assert resolved["teacher"]["params"]["lr"] == 1.0


def _ilm(*args: str, timeout: float = 120):
    import subprocess
    from pathlib import Path

    ilm = str(Path(sys.executable).with_name("ilm"))
    return subprocess.run([ilm, *args], capture_output=True, text=True, timeout=timeout)


@pytest.mark.skipif(not hasattr(__import__("os"), "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_as_config_or_text_source_is_refused_at_once(tmp_path):
    import os

    fifo = tmp_path / "config.toml"
    os.mkfifo(fifo)
    done = _ilm("run", "-c", str(fifo), "--dry-run", timeout=60)  # a read would wait for ever
    assert done.returncode == 2 and "it is a named pipe (FIFO), not a file" in " ".join(done.stderr.split())
    book = tmp_path / "book.txt"
    os.mkfifo(book)
    other = tmp_path / "other.txt"
    other.write_text("A sentence of the other domain. And another one here.\n")
    sources = f'environment.sources={{"a": ["{book}"], "b": ["{other}"]}}'
    done = _ilm("run", "--env", "text", "--set", sources, "--dry-run", timeout=60)
    message = " ".join(done.stderr.split())
    assert done.returncode == 2 and "is not a regular file (a named pipe" in message and "does not exist" not in message


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--budget", "x"], "error: --budget 'x' is invalid: a whole number is allowed. See `ilm run --help`."),
        (["run", "--episodes=2.5"], "error: --episodes '2.5' is invalid: a whole number is allowed."),
        (["run", "--bogus"], "No such option: --bogus"),
    ],
)
def test_a_bad_option_value_is_one_paragraph_and_exit_2(cli, args, message):
    code, _, err = cli(*args)
    assert code == 2
    assert message in " ".join(err.split()) and "╭" not in err and "Usage:" not in err


# -- ilm report: readable on a short run and on a long one, with the students' spread, reward and entropy --
@pytest.fixture(scope="module")
def four_episodes(tmp_path_factory):
    from ilm_core.cli import main

    out = tmp_path_factory.mktemp("report") / "four"
    with pytest.raises(SystemExit) as done:
        main(["run", *TINY, "--episodes", "4", "--out", str(out)])
    assert done.value.code == 0
    return out


def test_report_of_a_short_run_says_how_many_episodes_and_draws_the_teacher(cli, four_episodes, tmp_path):
    code, out, err = cli("report", str(four_episodes), "--out", str(tmp_path / "rep"))
    assert code == 0, err
    assert "all 4 episodes" in out and "last 10" not in out
    assert (tmp_path / "rep" / "teacher.png").is_file()


def test_the_teacher_figure_shows_its_reward_and_entropy_and_a_long_run_is_smoothed(four_episodes):
    from ilm_report import figures as plots
    from ilm_report.runs import Run, Setting

    run = find_runs([four_episodes])[0]
    long = Run(run.path, run.config, [dict(run.records[i % 4], episode=i) for i in range(200)])
    plt = plots._plt()
    for setting, smoothed in ((group_settings([run])[0], False), (Setting("long", run.config, [long]), True)):
        fig = plots.draw_teacher([setting])
        reward, entropy = fig.axes
        assert "reward" in reward.get_ylabel() and "entropy" in entropy.get_ylabel()
        assert len(entropy.get_lines()[0].get_xdata()) == len(setting.runs[0].records)
        assert any("rolling mean" in text.get_text() for text in fig.legends[0].get_texts()) is smoothed
        plt.close(fig)


def test_a_measure_plugins_values_reach_the_summary_table_and_the_report(cli, tmp_path):
    from ilm_core import MeasureResult, MeasureSpec, hookimpl
    from ilm_devkit.testing import run_tiny

    class Count:
        @staticmethod
        @hookimpl
        def ilm_measures():
            from ilm_core import Measure

            class Taught(Measure):
                def measure(self, episode):
                    return MeasureResult(episode={"sentences_taught": float(sum(map(len, episode.taught)))})

            yield MeasureSpec(name="sentences-taught", summary="test", factory=lambda params: Taught())

    run = run_tiny(Count, out=tmp_path, measures=["exam-domain", "sentences-taught"], episodes=2)
    from rich.console import Console

    from ilm_core.cli.display import summary_table

    console = Console(record=True, width=120)
    console.print(summary_table(run.summary, "V1"))
    assert "sentences_taught" in console.export_text()
    code, out, err = cli("report", str(run.path), "--out", str(tmp_path / "rep"))
    assert code == 0, err
    assert "sentences_taught" in out and "6" in out
    assert (tmp_path / "rep" / "measures.png").is_file()


# -- misleading messages -------------------------------------------------------------------------------
def test_a_signal_during_set_up_says_so_not_episode_0(cli, tmp_path, monkeypatch):
    import signal

    from ilm_core import Lesson, Teacher, TeacherSpec, hookimpl
    from ilm_devkit.testing import plugin_registry

    class StoppedInSetUp(Teacher):
        def setup(self, context):
            signal.raise_signal(signal.SIGTERM)  # as `kill` would, while the teacher sets up

        def select(self, context):
            return [Lesson(student=i, indices=list(range(context.size))) for i in range(context.n_students)]

    class Plugin:
        @staticmethod
        @hookimpl
        def ilm_teachers():
            yield TeacherSpec(name="stopped-in-set-up", summary="test", factory=lambda params: StoppedInSetUp())

    monkeypatch.setattr("ilm_core.cli.run_cmd.default_registry", lambda: plugin_registry(Plugin, installed=True))
    code, _, err = cli("run", *TINY_ANY_TEACHER, "--teacher", "stopped-in-set-up", "--out", str(tmp_path / "run"))
    text = " ".join(err.split())
    assert code == 128 + signal.SIGTERM, err
    assert "interrupted by SIGTERM" in text and "while it was being set up" in text and "episode 0" not in text


def test_a_duplicated_metrics_line_is_dropped_with_a_notice_not_called_nondeterminism(cli, tmp_path):
    out = tmp_path / "run"
    code, _, err = cli("run", *TINY, "--set", "checkpoint_every=2", "--out", str(out))  # 3 episodes
    assert code == 0, err
    metrics = out / "metrics.jsonl"
    lines = metrics.read_text().splitlines()
    metrics.write_text("\n".join([lines[0], lines[1], lines[1], lines[2]]) + "\n")  # episode 1 twice: a bad copy
    (out / "checkpoints" / "episode-000003.pt").unlink()  # resume from episode 2's checkpoint
    (out / "summary.json").unlink()
    code, stdout, err = cli("run", "--resume", str(out))
    text = " ".join((stdout + err).split())
    assert code == 0, err
    assert "not deterministic" not in text and "repeats episode 1 exactly" in text
    assert [json.loads(line)["episode"] for line in metrics.read_text().splitlines()] == [0, 1, 2]


def test_the_baselines_table_keeps_every_number_whole_at_80_columns(monkeypatch):
    from rich.console import Console

    from ilm_report.baselines_cmd import baselines_table

    stat = {"mean": 123.4567, "std": 12.345}
    row = {"baseline": "worst-case", "seed": 6639, "heldout": stat}
    from ilm_report.baselines_cmd import COLUMNS

    row |= {c: stat for c in COLUMNS}
    console = Console(width=80, record=True)
    console.print(baselines_table([row], "domains", 3))
    text = console.export_text()
    assert "…" not in text and text.count("123.5") == len(COLUMNS) and text.count("±12") == len(COLUMNS)
    assert max(len(line) for line in text.splitlines()) <= 80


def test_a_long_run_is_announced_after_its_first_episode_and_a_short_one_is_not():
    from ilm_core.cli.display import long_run_warning

    assert long_run_warning(1.0, 39) is None
    warning = long_run_warning(13.0, 39)
    assert "about 8 min" in warning and "GB of memory" in warning and "--episodes" in warning


def test_a_set_up_step_without_a_count_shows_no_question_mark():
    from rich.console import Console
    from rich.progress import Progress

    from ilm_core.cli.steps_display import step_columns

    console = Console(width=80, record=True, force_terminal=True)
    with Progress(*step_columns(), console=console, auto_refresh=False) as progress:
        progress.add_task("pretraining the teacher's LM", total=None)
        progress.add_task("embedding the pool", total=10, completed=3)
        progress.refresh()
    text = console.export_text()
    assert "0/?" not in text and "3/10" in text


def test_quiet_says_in_help_that_it_prints_the_summary_json(cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    code, out, _ = cli("run", "--help")
    assert code == 0 and "the summary as JSON" in " ".join(out.split())


# -- the docs: what they show works -----------------------------------------------------------------------
def test_the_readme_plugin_in_the_package_new_plugin_writes_takes_offset(cli, tmp_path, monkeypatch):
    import importlib
    from pathlib import Path

    from ilm_core import resolve
    from ilm_devkit.testing import plugin_registry

    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    code = readme.split("## A plugin", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    text = " ".join(readme.split())
    assert "ilm new-plugin first-k --kind teacher" in text and "--set teacher.offset=5" in text
    assert cli("new-plugin", "first-k", "--kind", "teacher", "--out", str(tmp_path))[0] == 0
    module = tmp_path / "ilm-first-k" / "ilm_first_k" / "__init__.py"
    assert module.is_file()
    module.write_text(code, encoding="utf-8")  # what the README says to do
    monkeypatch.syspath_prepend(str(module.parent.parent))
    plugin = importlib.import_module("ilm_first_k")
    try:
        config = resolve(
            {"teacher": {"name": "first-k", "params": {"offset": 5}}}, plugin_registry(plugin, installed=True)
        )
        assert config.teacher.params == {"offset": 5}
    finally:
        sys.modules.pop("ilm_first_k", None)


def test_the_minimal_pairs_example_file_builds_a_text_environment(cli):
    from pathlib import Path

    example = Path(__file__).parents[1] / "docs" / "examples" / "minimal-pairs.jsonl"
    lines = [json.loads(line) for line in example.read_text().splitlines()]
    assert all({"sentence_good", "sentence_bad", "UID"} <= set(line) for line in lines)
    code, _, err = cli(
        "run",
        "--env",
        "text",
        "--exam",
        "minimal-pairs",
        "--set",
        f'environment.minimal_pairs=["{example}"]',
        "--dry-run",
    )
    assert code == 0, err


def test_a_ray_address_nobody_answers_at_is_refused_before_ray_starts():
    """Checked without Ray itself: the address is tried before `ray.init` is called."""
    import time

    from ilm_core import ConfigError
    from ilm_plugins.executors.ray_executor import connect

    class NoRay:
        def is_initialized(self):
            return False

        def init(self, **kwargs):
            raise AssertionError("ray.init must not be called for an address nobody answers at")

    start = time.monotonic()
    with pytest.raises(ConfigError, match=r"Ray cluster at 'ray://127.0.0.1:9': nothing answers at 127.0.0.1:9"):
        connect(NoRay(), "ray://127.0.0.1:9", None, "executor 'ray'", "executor.address")
    assert time.monotonic() - start < 10
