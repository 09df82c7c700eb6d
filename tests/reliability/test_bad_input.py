"""The bad-input catalogue: every case exits with 2 and one paragraph on stderr, no traceback,
naming the field or value at fault. Inputs that are refused before a run starts never touch
an existing run directory."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ilm_core.rundir import RunDir

from ._support import one_paragraph_error, permission_denied

FAST = ["--episodes", "1", "--students", "1", "--set", "student.updates=1", "--set", "teacher.lm_updates=0", "--quiet"]


@pytest.mark.parametrize(
    ("flag", "value", "expected"),
    [
        ("--teacher", "selectbin", ["unknown teacher 'selectbin'", "Did you mean 'select-bin'", "oracle"]),
        ("--env", "domain", ["unknown environment 'domain'", "'domains'", "structures"]),
        ("--student", "transformer", ["unknown student 'transformer'", "transformer-lm"]),
        ("--executor", "paralel", ["unknown executor 'paralel'", "sequential"]),
    ],
)
def test_unknown_plugin_name_with_suggestions(cli, flag, value, expected):
    err = one_paragraph_error(*cli("run", flag, value, "--dry-run"))
    for text in expected:
        assert text in err


def test_unknown_param_lists_the_allowed_names(cli):
    err = one_paragraph_error(*cli("run", "--dry-run", "--set", "student.learning_rate=0.1"))
    assert "unknown param 'student.params.learning_rate'" in err and "Allowed names:" in err
    assert "lr" in err and "updates" in err
    err = one_paragraph_error(*cli("run", "--dry-run", "--set", "episode=3"))
    assert "episode" in err and "episodes" in err


def test_a_config_with_the_old_name_students_is_told_n_students(cli, tmp_path):
    """`students` (the count) is now `n_students`: refused, and the new name suggested over `student`."""
    path = tmp_path / "old.toml"
    path.write_text('teacher = "random"\nstudents = 12\n')
    err = one_paragraph_error(*cli("run", "--dry-run", "--config", str(path)))
    assert "unknown param 'config.students'. Did you mean 'n_students'?" in err and "Allowed names:" in err


@pytest.mark.parametrize(
    ("override", "field", "value"),
    [
        ("student.lr=fast", "student.params.lr", "'fast'"),
        ("episodes=many", "episodes", "'many'"),
        ("seed=1.5", "seed", "1.5"),
        ("on_diverged=ignore", "on_diverged", "'ignore'"),
        ("environment.exam_vocabulary=abc", "environment.params.exam_vocabulary", "'abc'"),
        ("teacher.name=7", "teacher.name", "7"),
    ],
)
def test_wrong_type_in_set(cli, override, field, value):
    err = one_paragraph_error(*cli("run", "--dry-run", "--set", override))
    assert f"{field}' = {value} is invalid" in err  # top-level fields read 'config.<field>'


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("bad.toml", 'episodes = "many"\n[student.params]\nlr = "fast"\n'),
        ("bad.json", json.dumps({"episodes": "many", "student": {"params": {"lr": "fast"}}})),
        ("bad.yaml", "episodes: many\nstudent:\n  params:\n    lr: fast\n"),
    ],
)
def test_wrong_type_in_a_config_file(cli, tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    err = one_paragraph_error(*cli("run", "--dry-run", "--config", str(path)))
    assert "'config.episodes' = 'many'" in err


def test_budget_larger_than_the_pool(cli, tmp_path):
    err = one_paragraph_error(
        *cli("run", *FAST, "--budget", "30", "--set", "environment.pool_size=20", "--out", str(tmp_path / "r"))
    )
    assert "budget = 30" in err and "pool of 20" in err
    # nothing finished, so the same directory can be used again once the config is fixed
    code, _, err = cli("run", *FAST, "--budget", "3", "--set", "environment.pool_size=20", "--out", str(tmp_path / "r"))
    assert code == 0, err
    # the whole pool is the largest budget allowed
    code, _, err = cli("run", "--dry-run", "--budget", "20", "--set", "environment.pool_size=20")
    assert code == 0, err


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--episodes", "0"], "episodes"),
        (["--students", "-1"], "n_students"),  # the flag sets the config's n_students
        (["--students", "0"], "n_students"),
        (["--budget", "0"], "budget"),
        (["--set", "environment.pool_size=0"], "environment.params.pool_size"),
        (["--set", "checkpoint_every=0"], "checkpoint_every"),
        (["--set", "keep_checkpoints=-2"], "keep_checkpoints"),
        (["--set", "student.updates=-1"], "student.params.updates"),
    ],
)
def test_zero_or_negative_sizes(cli, args, field):
    err = one_paragraph_error(*cli("run", "--dry-run", *args))
    assert f"'{field}'" in err or f"'config.{field}'" in err
    assert "greater than" in err


def test_an_environment_whose_exam_overlaps_the_teacher_corpus(cli, fault_registry, monkeypatch, tmp_path):
    monkeypatch.setattr("ilm_core.cli.run_cmd.default_registry", lambda: fault_registry)
    err = one_paragraph_error(*cli("run", *FAST, "--env", "leaky", "--budget", "2", "--out", str(tmp_path / "r")))
    assert "environment 'leaky'" in err and "teacher_corpus and exam share 1 sentence" in err
    assert not (tmp_path / "r" / "metrics.jsonl").exists()


def test_unreadable_config_files(cli, tmp_path):
    folder = tmp_path / "folder.toml"
    folder.mkdir()
    err = one_paragraph_error(*cli("run", "--dry-run", "--config", str(folder)))
    assert str(folder) in err and "cannot be read" in err
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"episodes = 3\n\xff\xfe\x00junk")
    err = one_paragraph_error(*cli("run", "--dry-run", "--config", str(binary)))
    assert str(binary) in err and "cannot be read" in err and "utf-8" in err


def test_a_config_file_that_fails_to_read_gives_the_reason_alone(cli, tmp_path, monkeypatch):
    path = tmp_path / "locked.toml"
    path.write_text("episodes = 3\n")

    monkeypatch.setattr(Path, "read_text", permission_denied)
    err = one_paragraph_error(*cli("run", "--dry-run", "--config", str(path)))
    assert f"config file {str(path)!r} cannot be read: Permission denied" in err


@pytest.mark.parametrize(
    ("name", "text"),
    [("bad.toml", "episodes = = 3\n"), ("bad.json", "{episodes: 3"), ("bad.yaml", "a: [1\nb: {\n")],
)
def test_config_files_that_do_not_parse(cli, tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    err = one_paragraph_error(*cli("run", "--dry-run", "--config", str(path)))
    assert f"{str(path)!r} is not valid {path.suffix[1:].upper()}: " in err  # the format it was read as


def test_a_config_file_that_is_not_a_table(cli, tmp_path):
    path = tmp_path / "list.json"
    path.write_text("[1, 2]")
    err = one_paragraph_error(*cli("run", "--dry-run", "--config", str(path)))
    assert "must hold a table" in err


def test_config_in_an_unknown_format(cli, tmp_path):
    path = tmp_path / "exp.ini"
    path.write_text("[run]\nepisodes = 3\n")
    err = one_paragraph_error(*cli("run", "--dry-run", "--config", str(path)))
    assert "exp.ini" in err and "unknown format '.ini'" in err and ".toml" in err


def test_missing_config_file(cli, tmp_path):
    err = one_paragraph_error(*cli("run", "--dry-run", "--config", str(tmp_path / "nope.toml")))
    assert "nope.toml" in err and "does not exist" in err


@pytest.mark.parametrize("what", ["empty", "missing", "file", "damaged-config"])
def test_resume_of_a_directory_that_is_not_a_run(cli, tmp_path, what):
    target = tmp_path / "target"
    if what == "empty":
        target.mkdir()
    elif what == "file":
        target.write_text("hello")
    elif what == "damaged-config":
        target.mkdir()
        (target / "config.json").write_text('{"seed": ')
    err = one_paragraph_error(*cli("run", "--resume", str(target), "--quiet"))
    assert str(target) in err
    assert ("damaged" in err) if what == "damaged-config" else ("not an ilm run directory" in err)
    assert what != "missing" or not target.exists()  # nothing created


@pytest.mark.parametrize("item", ["episodes", "=3", "teacher..lr=1", "a.=1", " =2"])
def test_malformed_set(cli, item):
    err = one_paragraph_error(*cli("run", "--dry-run", "--set", item))
    assert repr(item) in err and "path.to.param=value" in err


def test_set_into_a_value_is_refused(cli):
    err = one_paragraph_error(*cli("run", "--dry-run", "--set", "seed=3", "--set", "seed.x=1"))
    assert "'seed' is a value, not a section" in err


def test_a_run_into_a_locked_directory(cli, tmp_path):
    out = tmp_path / "r"
    out.mkdir()
    holder = RunDir(out)
    holder.lock()
    try:
        err = one_paragraph_error(*cli("run", *FAST, "--out", str(out)))
    finally:
        holder.unlock()
    assert f"in use by process {os.getpid()}" in err and str(out) in err
    assert not (out / "config.json").exists()


def test_out_is_a_file(cli, tmp_path):
    path = tmp_path / "afile"
    path.write_text("x")
    err = one_paragraph_error(*cli("run", *FAST, "--out", str(path)))
    assert str(path) in err and "not a directory" in err
    assert Path(path).read_text() == "x"


# -- found in the first hour with ilm -----------------------------------------------------
@pytest.mark.parametrize(
    ("override", "field"),
    [
        ("teacher.lr=inf", "teacher.params.lr"),
        ("teacher.entropy_coef=inf", "teacher.params.entropy_coef"),
        ("student.lr=inf", "student.params.lr"),
    ],
)
def test_non_finite_params_are_refused(cli, override, field):
    err = one_paragraph_error(*cli("run", "--dry-run", "--set", override))
    assert f"'{field}' = " in err and "finite" in err


def test_budget_larger_than_the_pool_is_refused_by_a_dry_run_and_before_the_directory_is_made(cli, tmp_path):
    err = one_paragraph_error(*cli("run", "--dry-run", "--budget", "500"))
    assert "budget = 500" in err and "pool of" in err
    out = tmp_path / "r"
    err = one_paragraph_error(*cli("run", *FAST, "--budget", "500", "--out", str(out)))
    assert "budget = 500" in err
    assert not out.exists()


def test_a_run_that_fails_before_its_first_episode_leaves_no_half_made_directory(fault_cli, faults, tmp_path):
    faults["teacher_stage"], faults["teacher_episode"] = "setup", -1
    out = tmp_path / "r"
    err = one_paragraph_error(*fault_cli("run", *FAST, "--teacher", "flaky", "--out", str(out)))
    assert "teacher plugin 'flaky'" in err and "setup()" in err
    assert not out.exists()
    existing = tmp_path / "empty"
    existing.mkdir()
    one_paragraph_error(*fault_cli("run", *FAST, "--teacher", "flaky", "--out", str(existing)))
    assert existing.is_dir() and not list(existing.iterdir())  # a folder the user made stays, empty


@pytest.mark.parametrize("device", ["cuda", "cuda:3"])
def test_a_device_this_machine_lacks_is_a_config_error_before_any_work(cli, tmp_path, monkeypatch, device):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    out = tmp_path / "r"
    err = one_paragraph_error(*cli("run", *FAST, "--device", device, "--out", str(out)))
    assert f"'config.device' = '{device}'" in err and "no usable CUDA device" in err and "--device cpu" in err
    assert "--resume" not in err and not out.exists()


def test_a_gpu_index_beyond_the_visible_ones_is_refused_naming_those_there_are(monkeypatch):
    from ilm_core.config import check_device
    from ilm_core.errors import ConfigError

    monkeypatch.setattr("torch.cuda.is_available", lambda: True)
    monkeypatch.setattr("torch.cuda.device_count", lambda: 2)
    for fine in ("cuda", "cuda:0", "cuda:1"):
        check_device(fine)
    with pytest.raises(ConfigError) as refused:
        check_device("cuda:3")
    assert str(refused.value) == (
        "'config.device' = 'cuda:3' is invalid: there are 2 CUDA device(s), cuda:0 to cuda:1."
    )


def test_a_non_finite_number_inside_a_list_of_params_is_named_by_its_place():
    import math

    from ilm_core.config import check_finite
    from ilm_core.errors import ConfigError

    check_finite({"betas": [0.9, 0.999], "name": "x"}, "teacher.params")
    with pytest.raises(ConfigError, match=r"'teacher\.params\.betas\[1\]' = inf is invalid"):
        check_finite({"betas": [0.9, math.inf]}, "teacher.params")


def test_a_device_that_is_not_one_is_refused(cli):
    err = one_paragraph_error(*cli("run", "--dry-run", "--device", "gpu0"))
    assert "'config.device' = 'gpu0'" in err and "cuda:1" in err


def test_out_names_the_current_directory(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("mine")
    err = one_paragraph_error(*cli("run", *FAST, "--out", ""))
    assert "current directory" in err and "folder of its own" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_out_into_a_folder_of_other_files_is_refused(cli, tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "thesis.tex").write_text("x")
    err = one_paragraph_error(*cli("run", *FAST, "--out", str(folder)))
    assert str(folder) in err and "thesis.tex" in err and "not an ilm run directory" in err
    assert sorted(p.name for p in folder.iterdir()) == ["thesis.tex"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--seeds", ""], "--seeds '' names no seed"),
        (["--seeds", " , "], "names no seed"),
    ],
)
def test_sweep_with_no_seeds_is_refused(cli, tmp_path, args, expected):
    err = one_paragraph_error(*cli("sweep", *args, "--out", str(tmp_path / "sweep")))
    assert expected in err
    assert not (tmp_path / "sweep").exists()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[sweep]\nseeds = [1]\n[sweep.grid]\n", "[sweep.grid] = {} is empty"),
        ("[sweep]\nseeds = []\n", "seeds = [] names no seed"),
        ("[sweep]\nseeds = [1]\n[sweep.grid]\nn_students = []\n", "n_students = [] is invalid"),
    ],
)
def test_sweep_with_an_empty_grid_or_seed_list_is_refused(cli, tmp_path, text, expected):
    path = tmp_path / "sweep.toml"
    path.write_text(text)
    err = one_paragraph_error(*cli("sweep", "--config", str(path), "--out", str(tmp_path / "sweep")))
    assert expected in err
    assert not (tmp_path / "sweep").exists()


# -- report and inspect: where they write, and what they read -------------------------------
@pytest.fixture(scope="module")
def one_run(tmp_path_factory) -> Path:
    from ilm_core.cli import main

    out = tmp_path_factory.mktemp("one") / "run"
    with pytest.raises(SystemExit) as done:
        main(["run", *FAST, "--episodes", "2", "--set", "environment.pool_size=20", "--budget", "3", "--out", str(out)])
    assert done.value.code in (0, None)
    return out


def test_report_out_on_an_existing_file_or_under_one(cli, one_run, tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("keep")
    err = one_paragraph_error(*cli("report", str(one_run), "--out", str(afile)))
    assert f"--out {afile} is an existing file" in err
    err = one_paragraph_error(*cli("report", str(one_run), "--out", str(afile / "sub")))
    assert f"--out {afile / 'sub'}" in err and "cannot create the folder" in err
    assert afile.read_text() == "keep"


def test_report_of_a_run_whose_config_lacks_a_key(cli, one_run, tmp_path):
    import shutil

    run = Path(shutil.copytree(one_run, tmp_path / "run"))
    config = json.loads((run / "config.json").read_text())
    del config["seed"]
    (run / "config.json").write_text(json.dumps(config))
    err = one_paragraph_error(*cli("report", str(run), "--out", str(tmp_path / "rep")))
    assert str(run / "config.json") in err and "lacks 'seed'" in err


def test_inspect_json_to_an_unwritable_path_fails_before_the_work(cli, one_run, tmp_path, monkeypatch):
    def no_work(*args, **kwargs):
        raise AssertionError("the teacher was rebuilt before the output path was checked")

    monkeypatch.setattr("ilm_devkit.inspect_cmd.inspect_teacher", no_work)
    afile = tmp_path / "afile"
    afile.write_text("x")
    for target, expected in ((afile / "ranking.json", "does not exist (or is a file)"), (tmp_path, "names a folder")):
        err = one_paragraph_error(*cli("inspect", str(one_run), "--json", str(target)))
        assert "--json" in err and expected in err
