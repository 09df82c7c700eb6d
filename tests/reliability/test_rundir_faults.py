"""Damaged run directories: checkpoints, a torn metrics line, locks, overwrites, resume rules.

Each test starts from a copy of one finished 4-episode run (keep_checkpoints=2) and checks
that no metrics line written before the fault is lost or changed.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from ilm_core.cli import main
from ilm_core.errors import RunDirError
from ilm_core.rundir import RunDir

from ._support import (
    TINY_FLAGS,
    assert_prefix_intact,
    metrics_lines,
    one_paragraph_error,
    permission_denied,
    without_seconds,
)

ARGS = ["--episodes", "4", *TINY_FLAGS, "--set", "student.updates=3", "--set", "keep_checkpoints=2"]


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("reference") / "run"
    with pytest.raises(SystemExit) as done:
        main(["run", *ARGS, "--out", str(out)])
    assert done.value.code in (0, None) and len(metrics_lines(out)) == 4
    return out


@pytest.fixture
def run(finished: Path, tmp_path: Path) -> Path:
    """A fresh copy of the finished run."""
    return Path(shutil.copytree(finished, tmp_path / "run"))


def ckpt(run: Path, episode: int) -> Path:
    return run / "checkpoints" / f"episode-{episode:06d}.pt"


def interrupt_after(run: Path, episodes: int) -> None:
    """Make `run` look killed right after episode `episodes` was checkpointed."""
    (run / "summary.json").unlink()
    for n in range(episodes + 1, 5):
        ckpt(run, n).unlink(missing_ok=True)
    lines = metrics_lines(run)[:episodes]
    (run / "metrics.jsonl").write_text("".join(line + "\n" for line in lines))


DAMAGE = {
    "truncated": lambda data: data[: len(data) // 2],
    "garbage": lambda data: b"\x00not a checkpoint\xff" * 20,
    "empty": lambda data: b"",
}


@pytest.mark.parametrize("kind", list(DAMAGE))
def test_a_damaged_newest_checkpoint_is_named_and_the_previous_one_used(cli, finished, run, kind):
    (run / "summary.json").unlink()  # killed after the last checkpoint, before the summary
    newest = ckpt(run, 4)
    newest.write_bytes(DAMAGE[kind](newest.read_bytes()))
    before = metrics_lines(run)
    code, out, err = cli("run", "--resume", str(run), "--quiet")
    assert code == 0, err
    text = " ".join(out.split())
    assert str(newest) in text and "damaged" in text and "episode-000003.pt" in text
    assert_prefix_intact(run, before)  # episode 3 was repeated, and its record kept
    assert without_seconds(run) == without_seconds(finished)
    assert (run / "summary.json").exists()


def test_every_checkpoint_damaged_is_a_clear_error_naming_the_files(cli, run):
    (run / "summary.json").unlink()
    for n in (3, 4):
        ckpt(run, n).write_bytes(b"junk")
    before = (run / "metrics.jsonl").read_bytes()
    err = one_paragraph_error(*cli("run", "--resume", str(run), "--quiet"))
    assert str(ckpt(run, 3)) in err and str(ckpt(run, 4)) in err and "metrics.jsonl are intact" in err
    assert (run / "metrics.jsonl").read_bytes() == before


def test_a_checkpoint_ahead_of_the_metrics_is_not_used(cli, finished, run):
    """A metrics.jsonl shorter than the newest checkpoint: resuming from it would leave a gap."""
    (run / "summary.json").unlink()
    lines = metrics_lines(run)[:3]
    (run / "metrics.jsonl").write_text("".join(line + "\n" for line in lines))
    code, out, err = cli("run", "--resume", str(run), "--quiet")
    assert code == 0, err
    assert "holds only 3 episodes" in " ".join(out.split())
    assert_prefix_intact(run, lines)
    assert without_seconds(run) == without_seconds(finished)


def test_a_torn_last_metrics_line_is_dropped_with_a_notice(cli, finished, run):
    interrupt_after(run, 3)
    before = metrics_lines(run)
    torn = metrics_lines(finished)[3][:57]  # the 4th record, cut mid-write
    with open(run / "metrics.jsonl", "a") as fh:
        fh.write(torn)
    stale = run / "checkpoints" / ".episode-000004.pt.tmp-99999"
    stale.write_bytes(b"half a checkpoint")  # a temp file a killed process never renamed
    code, out, err = cli("run", "--resume", str(run), "--quiet")
    assert code == 0, err
    assert "dropped a torn last line" in " ".join(out.split())
    assert_prefix_intact(run, before)
    assert without_seconds(run) == without_seconds(finished)
    assert not stale.exists()


def test_a_damaged_line_in_the_middle_of_the_metrics_is_an_error(cli, run):
    interrupt_after(run, 3)
    lines = metrics_lines(run)
    lines[1] = lines[1][:20]
    (run / "metrics.jsonl").write_text("".join(line + "\n" for line in lines))
    err = one_paragraph_error(*cli("run", "--resume", str(run), "--quiet"))
    assert "metrics.jsonl line 2 is damaged" in err
    assert metrics_lines(run) == lines


def test_resuming_a_finished_run_reports_it_complete(cli, run):
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file() and p.name != "run.lock"}
    code, out, err = cli("run", "--resume", str(run), "--quiet")
    assert code == 0, err
    assert "already complete (4 of 4 episodes)" in " ".join(out.split())
    assert {p: p.read_bytes() for p in before} == before


def test_resume_accepts_the_same_flags_and_refuses_different_ones(cli, finished, run):
    interrupt_after(run, 2)
    before = metrics_lines(run)
    err = one_paragraph_error(*cli("run", *ARGS, "--set", "student.lr=0.1", "--budget", "5", "--resume", str(run)))
    assert "differs from the one the run was started with" in err
    assert "student.params.lr: 0.001 -> 0.1" in err and "budget: 4 -> 5" in err
    assert metrics_lines(run) == before
    cfg = run / "exp.json"
    cfg.write_text(json.dumps({"seed": 1}))
    err = one_paragraph_error(*cli("run", "--config", str(cfg), "--resume", str(run), "--quiet"))
    assert "seed: 6639 -> 1" in err
    code, _, err = cli("run", *ARGS, "--resume", str(run))
    assert code == 0, err
    assert_prefix_intact(run, before)
    assert without_seconds(run) == without_seconds(finished)


@pytest.mark.parametrize("state", ["finished", "partial"])
def test_a_new_run_never_overwrites_an_existing_one(cli, run, state):
    if state == "partial":
        interrupt_after(run, 2)
    files = {p: p.read_bytes() for p in run.rglob("*") if p.is_file() and p.name != "run.lock"}
    err = one_paragraph_error(*cli("run", *ARGS, "--out", str(run)))
    assert f"already holds a {state} run" in err and f"--resume {run}" in err and "--out" in err
    assert {p: p.read_bytes() for p in files} == files


def test_resume_and_a_different_out_are_refused(cli, run, tmp_path):
    err = one_paragraph_error(*cli("run", "--resume", str(run), "--out", str(tmp_path / "other")))
    assert "--resume" in err and "--out" in err


@pytest.fixture
def held(run: Path) -> Iterator[Path]:
    """The run directory locked by a RunDir of this process (as a running `ilm run` holds it)."""
    holder = RunDir(run)
    holder.lock()
    yield run
    holder.unlock()


def test_a_locked_run_directory_names_the_process_that_holds_it(cli, held, tmp_path):
    interrupt_after(held, 2)
    before = metrics_lines(held)
    for args in (["--resume", str(held)], [*ARGS, "--out", str(held)]):
        err = one_paragraph_error(*cli("run", *args, "--quiet"))
        assert f"in use by process {os.getpid()}" in err and "run.lock" in err
    assert metrics_lines(held) == before


def test_a_repeated_episode_that_differs_from_its_record_is_reported_and_replaced(cli, finished, run):
    """Episodes after the checkpoint are repeated; a repeat that differs means a plugin is not
    deterministic, and the run says so rather than keeping records the teacher never produced."""
    interrupt_after(run, 4)
    ckpt(run, 4).unlink()  # the newest checkpoint is gone: episode 3 is repeated
    lines = metrics_lines(run)
    changed = json.loads(lines[3])
    changed["reward_mean"] += 1.0
    lines[3] = json.dumps(changed)
    (run / "metrics.jsonl").write_text("".join(line + "\n" for line in lines))
    code, out, err = cli("run", "--resume", str(run), "--quiet")
    assert code == 0, err
    assert "episode 3 repeated after the checkpoint differs" in " ".join(out.split())
    assert_prefix_intact(run, lines[:3])
    assert without_seconds(run) == without_seconds(finished)


def test_a_damaged_summary_of_a_finished_run_is_written_again(cli, finished, run):
    (run / "summary.json").write_text('{"episodes": ')
    before = metrics_lines(run)
    code, _, err = cli("run", "--resume", str(run), "--quiet")
    assert code == 0, err
    assert json.loads((run / "summary.json").read_text())["episodes"] == 4
    assert metrics_lines(run) == before


# -- found in the first hour with ilm -----------------------------------------------------
def test_a_finished_run_keeps_no_lock_file(finished):
    assert not (finished / "run.lock").exists()


def test_a_hand_edited_config_is_refused_on_resume(cli, run):
    interrupt_after(run, 2)
    before = metrics_lines(run)
    config = json.loads((run / "config.json").read_text())
    config["budget"] = 3
    (run / "config.json").write_text(json.dumps(config, indent=2))
    err = one_paragraph_error(*cli("run", "--resume", str(run), "--quiet"))
    assert str(run / "config.json") in err and "was changed after the run started" in err
    assert f"--config {run / 'config.json'} --out NEW_DIR" in err
    assert metrics_lines(run) == before


def test_deleted_metrics_are_named_as_what_is_missing(cli, run):
    interrupt_after(run, 4)  # killed right after the last checkpoint, before the summary
    assert ckpt(run, 3).exists() and ckpt(run, 4).exists()
    (run / "metrics.jsonl").unlink()
    err = one_paragraph_error(*cli("run", "--resume", str(run), "--quiet"))
    # the newest of the two checkpoints is the one named
    assert f"{run / 'metrics.jsonl'} is missing" in err and "up to episode-000004.pt" in err
    assert "intact" not in err and "damaged" not in err


def _other_environment(state: dict) -> dict:
    return {**state, "environment": {**state["environment"], "fingerprint": "0" * 16}}


def _teacher_state_that_does_not_load(state: dict) -> dict:
    return {**state, "teacher": {"weights": [1, 2, 3]}}


@pytest.mark.parametrize("wrong", [_other_environment, _teacher_state_that_does_not_load])
def test_a_well_formed_but_wrong_newest_checkpoint_falls_back_to_the_older_one(cli, finished, run, wrong):
    import torch

    (run / "summary.json").unlink()
    newest = ckpt(run, 4)
    torch.save(wrong(torch.load(newest, weights_only=False)), newest)
    before = metrics_lines(run)
    code, out, err = cli("run", "--resume", str(run), "--quiet")
    assert code == 0, err
    text = " ".join(out.split())
    assert f"checkpoint {newest} does not fit this run" in text and "episode-000003.pt" in text
    assert_prefix_intact(run, before)
    assert without_seconds(run) == without_seconds(finished)


# -- the run directory's own rules, without a run --------------------------------------------------


def test_an_empty_metrics_file_is_no_finished_episode(tmp_path: Path) -> None:
    rd = RunDir(tmp_path / "run")
    rd.create()
    rd.metrics_path.write_text("")
    assert not rd.has_episodes()  # starting over loses nothing
    rd.metrics_path.write_text('{"episode": 0}\n')
    assert rd.has_episodes()


def test_a_folder_of_other_files_is_refused_naming_three_and_counting_the_rest(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    for name in "abcdefg":  # seven files of the user's own
        (folder / f"{name}.txt").write_text("mine")
    with pytest.raises(RunDirError) as refused:
        RunDir(folder).check_new()
    assert "(a.txt, b.txt, c.txt and 4 more)" in str(refused.value)


def test_keeping_fewer_episodes_says_how_many_were_dropped(tmp_path: Path) -> None:
    rd = RunDir(tmp_path / "run")
    rd.create()
    rd.metrics_path.write_text("".join(json.dumps({"episode": e}) + "\n" for e in range(3)))
    notices: list[str] = []
    rd.keep_metrics(1, notices.append)
    assert [json.loads(line)["episode"] for line in rd.metrics_path.read_text().splitlines()] == [0]
    assert len(notices) == 1 and notices[0].startswith("dropped 2 episode(s) after the checkpoint")


def test_an_unreadable_metrics_file_is_named_with_the_reason_alone(tmp_path: Path) -> None:
    rd = RunDir(tmp_path / "run")
    rd.create()
    rd.metrics_path.mkdir()  # a folder where the file of finished episodes belongs
    with pytest.raises(RunDirError) as refused:
        rd.read_metrics()
    message = str(refused.value)
    assert message.startswith(f"cannot read {rd.metrics_path}: ") and "[Errno" not in message


def test_a_saved_config_that_cannot_be_read_or_is_no_table_is_named(tmp_path: Path) -> None:
    rd = RunDir(tmp_path / "run")
    rd.create()
    config = rd.path / "config.json"
    config.mkdir()  # a folder where the saved config belongs
    with pytest.raises(RunDirError) as refused:
        rd.read_config()
    assert str(refused.value).startswith(f"cannot read {config}: ") and "[Errno" not in str(refused.value)
    config.rmdir()
    config.write_text("[1, 2]")
    with pytest.raises(RunDirError) as refused:
        rd.read_config()
    assert str(refused.value) == f"{config} is damaged: it holds a list, not a config"


def test_a_run_directory_that_cannot_be_made_is_named_with_the_reason(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(Path, "mkdir", permission_denied)  # a read-only file system, say
    with pytest.raises(RunDirError) as refused:
        RunDir(tmp_path / "run").create()
    assert str(refused.value) == f"cannot create the run directory {tmp_path / 'run'}: Permission denied"


def test_a_lock_file_that_cannot_be_opened_is_named_with_the_reason(tmp_path: Path) -> None:
    rd = RunDir(tmp_path / "run")
    rd.create()
    (rd.path / "run.lock").mkdir()  # something that is not a file where the lock belongs
    with pytest.raises(RunDirError) as refused:
        rd.lock()
    message = str(refused.value)
    assert message.startswith(f"cannot open the lock file of {rd.path}: ") and "[Errno" not in message


def test_an_old_checkpoint_that_cannot_be_deleted_is_named_with_the_reason(tmp_path: Path, monkeypatch) -> None:
    rd = RunDir(tmp_path / "run")
    rd.create()
    first = rd.save_checkpoint(1, {"episode": 1}, keep=1)

    monkeypatch.setattr(Path, "unlink", permission_denied)
    with pytest.raises(RunDirError) as refused:
        rd.save_checkpoint(2, {"episode": 2}, keep=1)
    assert str(refused.value) == f"cannot delete the old checkpoint {first}: Permission denied"


def test_resuming_from_an_older_checkpoint_names_every_episode_it_repeats(cli, tmp_path: Path) -> None:
    out = tmp_path / "run"
    code, _, err = cli("run", *ARGS, "--set", "checkpoint_every=2", "--out", str(out), "--quiet")
    assert code == 0, err
    reference = without_seconds(out)
    (out / "summary.json").unlink()
    ckpt(out, 4).unlink()  # killed before the last checkpoint was written: the newest is after episode 2
    code, text, err = cli("run", "--resume", str(out), "--quiet")
    assert code == 0, err
    assert "repeating episode(s) 2-3, finished after the checkpoint" in " ".join(text.split())
    assert without_seconds(out) == reference
