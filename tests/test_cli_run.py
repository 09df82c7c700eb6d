"""`ilm run` end to end on tiny settings: run directory, determinism, dry run, bad input."""

from __future__ import annotations

import json

from conftest import TINY, TINY_ANY_TEACHER


def read_metrics(path):
    return [json.loads(line) for line in (path / "metrics.jsonl").read_text().splitlines()]


def test_run_writes_a_complete_run_directory(cli, tmp_path):
    out = tmp_path / "run"
    code, _, stderr = cli("run", "--teacher", "select-bin", "--env", "domains", *TINY, "--out", str(out))
    assert code == 0, stderr
    config = json.loads((out / "config.json").read_text())
    assert config["teacher"]["name"] == "select-bin" and config["n_students"] == 3
    assert config["teacher"]["params"]["embedding"] in ("word", "hidden")  # defaults filled in
    records = read_metrics(out)
    assert [r["episode"] for r in records] == [0, 1, 2]
    for key in (
        "reward_mean",
        "reward_std",
        "perplexity_mean",
        "perplexity_std",
        "fraction_exam_domain",
        "entropy",
        "tokens_sent",
        "seconds",
        "heldout_perplexity_mean",
    ):
        assert records[0][key] is not None, key
    assert records[0]["tokens_sent"] == 3 * 4 * 10  # 3 students x budget 4 x 10 tokens
    assert len(records[0]["per_student"]["perplexity"]) == 3
    summary = json.loads((out / "summary.json").read_text())
    assert summary["episodes"] == 3
    assert list((out / "checkpoints").glob("episode-*.pt"))


def test_a_run_recorded_with_the_old_field_name_students_still_reads_and_resumes(cli, tmp_path):
    """A run directory written when the count was `students` (config.json and its hash) is read in
    today's names: `--resume` finds it complete, the sweep and the report see `n_students`."""
    from ilm_core.rundir import CONFIG_HASH, RunDir, config_hash

    out = tmp_path / "run"
    assert cli("run", "--teacher", "random", *TINY_ANY_TEACHER, "--out", str(out))[0] == 0
    config = json.loads((out / "config.json").read_text())
    old = {("students" if k == "n_students" else k): v for k, v in config.items()}
    (out / "config.json").write_text(json.dumps(old))
    (out / CONFIG_HASH).write_text(config_hash(old) + "\n")
    assert RunDir(out).read_config() == config and RunDir(out).check_config_unchanged() == config
    code, out_text, err = cli("run", "--resume", str(out))
    assert code == 0 and "already complete" in out_text + err, err


def test_same_config_and_seed_give_the_same_numbers(cli, tmp_path):
    runs = []
    for name in ("a", "b"):
        code, _, err = cli("run", *TINY, "--seed", "7", "--out", str(tmp_path / name))
        assert code == 0, err
        runs.append([{k: v for k, v in r.items() if k != "seconds"} for r in read_metrics(tmp_path / name)])
    assert runs[0] == runs[1]
    code, _, _ = cli("run", *TINY, "--seed", "8", "--out", str(tmp_path / "c"))
    other = [{k: v for k, v in r.items() if k != "seconds"} for r in read_metrics(tmp_path / "c")]
    assert other != runs[0]


def test_dry_run_prints_the_resolved_config_and_writes_nothing(cli, tmp_path):
    code, out, _ = cli(
        "run", "--dry-run", "--teacher", "oracle", "--set", "student.lr=0.01", "--out", str(tmp_path / "x")
    )
    assert code == 0
    config = json.loads(out)
    assert config["teacher"]["name"] == "oracle"
    assert config["student"]["params"]["lr"] == 0.01
    assert config["student"]["params"]["layers"] >= 1
    assert not (tmp_path / "x").exists()


def test_config_file_then_flags_then_set(cli, tmp_path):
    path = tmp_path / "exp.toml"
    path.write_text('episodes = 7\nbudget = 5\n[teacher]\nname = "select-bin"\n[teacher.params]\nlr = 0.2\n')
    code, out, _ = cli("run", "--dry-run", "--config", str(path), "--budget", "6", "--set", "teacher.entropy_coef=0.5")
    assert code == 0
    config = json.loads(out)
    assert config["episodes"] == 7 and config["budget"] == 6
    assert config["teacher"]["params"]["lr"] == 0.2 and config["teacher"]["params"]["entropy_coef"] == 0.5


def one_paragraph_error(code, out, err):
    assert code == 2
    assert "Traceback" not in out + err
    assert err.startswith("error:")
    assert "\n\n" not in err.strip()
    return err


def test_unknown_plugin_name_suggests_close_matches(cli):
    err = one_paragraph_error(*cli("run", "--teacher", "selectbin", "--dry-run"))
    assert "select-bin" in err and "Did you mean" in err and "oracle" in err


def test_budget_larger_than_pool(cli, tmp_path):
    err = one_paragraph_error(*cli("run", "--budget", "500", "--quiet", "--out", str(tmp_path / "r")))
    assert "budget = 500" in err and "pool of 100" in err


def test_wrong_type_in_set_and_in_config_file(cli, tmp_path):
    err = one_paragraph_error(*cli("run", "--dry-run", "--set", "student.lr=fast"))
    assert "student.params.lr" in err and "'fast'" in err
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"episodes": "many"}))
    err = one_paragraph_error(*cli("run", "--dry-run", "--config", str(path)))
    assert "episodes" in err and "'many'" in err


def test_missing_config_file(cli, tmp_path):
    err = one_paragraph_error(*cli("run", "--dry-run", "--config", str(tmp_path / "nope.toml")))
    assert "nope.toml" in err and "does not exist" in err


def test_unknown_param_lists_the_allowed_names(cli):
    err = one_paragraph_error(*cli("run", "--dry-run", "--set", "teacher.learning_rate=0.1"))
    assert "teacher.params.learning_rate" in err and "entropy_coef" in err
