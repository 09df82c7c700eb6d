"""Trackers: what TensorBoard and MLflow were sent is read back with their own readers; a
tracker that fails is one notice and the run completes; trackers never change a run."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from ilm_core import ConfigError, Tracker, TrackerSpec, hookimpl
from ilm_core.config import assemble, resolve
from ilm_core.loop import Experiment
from ilm_core.registry import Registry
from ilm_core.rundir import RunDir

BASE = {
    "episodes": 3, "n_students": 2, "budget": 3, "seed": 11,
    "teacher": {"name": "random"},
    "executor": {"name": "sequential"},
    "student": {"name": "transformer-lm", "params": {"updates": 2, "dim": 16, "ffn": 32}},
    "environment": {"name": "domains", "params": {"pool_size": 20, "teacher_corpus_size": 10,
                                                   "exam_bank_size": 20, "heldout_size": 5}},
}  # fmt: skip
#: the scalars every episode of BASE has (random teacher: no entropy)
EVERY_EPISODE = ("reward/mean", "perplexity/feedback", "perplexity/heldout", "fraction_exam_domain", "seconds")


def run(registry: Registry, path: Path, trackers: dict, notices: list[str] | None = None, **changes) -> dict:
    cfg = resolve({**BASE, **changes, "trackers": trackers}, registry)
    return Experiment(cfg, registry, RunDir(path), notify=(notices if notices is not None else []).append).run()


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in (path / "metrics.jsonl").read_text().splitlines()]


class _Interrupt:
    """An observer that stops the run (as Ctrl-C would) after episode `at` is on disk."""

    def __init__(self, at: int):
        self.at = at

    @hookimpl
    def ilm_episode_end(self, run, record):
        if record.episode == self.at:
            raise KeyboardInterrupt


# -- TensorBoard ---------------------------------------------------------------------------------


def tensorboard_events(folder: Path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder), size_guidance={"scalars": 0, "images": 0, "tensors": 0})
    events.Reload()
    return events


@pytest.mark.slow
def test_tensorboard_event_files_hold_every_episode_the_config_and_the_figures(registry, tmp_path):
    pytest.importorskip("tensorboard")
    out = tmp_path / "run"
    run(registry, out, {"tensorboard": {}})
    events = tensorboard_events(out / "tensorboard")
    expected = records(out)
    for tag in EVERY_EPISODE:
        steps = [(e.step, e.value) for e in events.Scalars(tag)]
        assert [s for s, _ in steps] == [0, 1, 2], tag
    for (_, value), record in zip([(e.step, e.value) for e in events.Scalars("reward/mean")], expected, strict=True):
        assert math.isclose(value, record["reward_mean"], rel_tol=1e-6)
    from tensorboard.plugins.hparams import plugin_data_pb2

    content = events.PluginTagToContent("hparams")["_hparams_/session_start_info"]
    hparams = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info.hparams
    assert hparams["teacher.name"].string_value == "random"
    assert hparams["student.params.updates"].number_value == 2
    assert {"figures/figure2", "figures/overlaps", "figures/exams"} <= set(events.Tags()["images"])


def test_a_resumed_run_shows_each_episode_once_in_tensorboard(registry, tmp_path):
    pytest.importorskip("tensorboard")
    out = tmp_path / "run"
    cfg = resolve({**BASE, "episodes": 4, "trackers": {"tensorboard": {}}}, registry)
    with pytest.raises(KeyboardInterrupt):
        Experiment(cfg, registry, RunDir(out)).run(observers=[_Interrupt(at=1)])
    Experiment(cfg, registry, RunDir(out)).run(resume=True)
    events = tensorboard_events(out / "tensorboard")
    logged = [(e.step, e.value) for e in events.Scalars("perplexity/feedback")]
    assert [s for s, _ in logged] == [0, 1, 2, 3]
    for (_, value), record in zip(logged, records(out), strict=True):
        assert math.isclose(value, record["perplexity_mean"], rel_tol=1e-6)


# -- MLflow --------------------------------------------------------------------------------------


def mlflow_client(out: Path):
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    saved = json.loads((out / "mlflow-run.json").read_text())
    return MlflowClient(tracking_uri=saved["tracking_uri"]), saved["run_id"]


@pytest.mark.slow
def test_mlflow_file_store_holds_params_metrics_per_step_and_the_figures(registry, tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    out = tmp_path / "run"
    run(registry, out, {"mlflow": {"experiment": "trackers-test"}})
    assert (out / "mlruns").is_dir()  # the default: a file store in the run directory
    client, run_id = mlflow_client(out)
    logged = client.get_run(run_id)
    assert logged.info.status == "FINISHED"
    assert client.get_experiment(logged.info.experiment_id).name == "trackers-test"
    params = logged.data.params
    assert params["teacher.name"] == "random" and params["seed"] == "11" and params["student.params.dim"] == "16"
    assert "trackers" not in " ".join(params)  # what watches the run is not a param of it
    expected = records(out)
    for tag, field in (("reward/mean", "reward_mean"), ("perplexity/heldout", "heldout_perplexity_mean")):
        history = sorted(client.get_metric_history(run_id, tag), key=lambda m: m.step)
        assert [m.step for m in history] == [0, 1, 2], tag
        assert all(math.isclose(m.value, r[field], rel_tol=1e-9) for m, r in zip(history, expected, strict=True))
    for tag in EVERY_EPISODE:
        assert len(client.get_metric_history(run_id, tag)) == 3, tag
    figures = {Path(f.path).name for f in client.list_artifacts(run_id, "figures")}
    assert figures == {"figure2.png", "overlaps.png", "exams.png", "teacher.png"}
    assert {"config.json", "summary.json"} <= {f.path for f in client.list_artifacts(run_id)}


def test_a_resumed_run_continues_its_mlflow_run_without_repeating_steps(registry, tmp_path):
    pytest.importorskip("mlflow")
    out = tmp_path / "run"
    store = (tmp_path / "store").as_uri()
    cfg = resolve({**BASE, "episodes": 4, "trackers": {"mlflow": {"tracking_uri": store}}}, registry)
    with pytest.raises(KeyboardInterrupt):
        Experiment(cfg, registry, RunDir(out)).run(observers=[_Interrupt(at=1)])
    client, run_id = mlflow_client(out)
    assert client.get_run(run_id).info.status == "FAILED"  # stopped before its last episode
    Experiment(cfg, registry, RunDir(out)).run(resume=True)
    assert mlflow_client(out)[1] == run_id
    assert client.get_run(run_id).info.status == "FINISHED"
    steps = sorted(m.step for m in client.get_metric_history(run_id, "reward/mean"))
    assert steps == [0, 1, 2, 3]
    assert len(client.search_runs([client.get_run(run_id).info.experiment_id])) == 1


# -- failures and config -------------------------------------------------------------------------


class _Flaky(Tracker):
    calls: list[str]

    def __init__(self, params):
        self.fail_in = params.fail_in
        self.calls = []
        _Flaky.last = self

    def _hook(self, name: str) -> None:
        self.calls.append(name)
        if name == self.fail_in:
            raise OSError(28, "No space left on device")

    def ilm_run_start(self, run):
        self._hook("ilm_run_start")

    def ilm_episode_end(self, run, record):
        self._hook("ilm_episode_end")

    def ilm_run_end(self, run, summary):
        self._hook("ilm_run_end")

    def close(self):
        self._hook("close")


class _FlakyPlugin:
    @staticmethod
    @hookimpl
    def ilm_trackers():
        from pydantic import BaseModel, ConfigDict

        class Params(BaseModel):
            model_config = ConfigDict(extra="forbid")
            fail_in: str = "ilm_episode_end"

        yield TrackerSpec(name="flaky", summary="fails where it is told to", factory=_Flaky, params=Params)
        yield TrackerSpec(
            name="needs-extra",
            summary="needs a package that is not installed",
            factory=_Flaky,
            params=Params,
            requires=("no_such_module_for_ilm_tests",),
            install_hint="pip install 'ilm[nothing]'",
        )


@pytest.fixture
def flaky_registry(registry: Registry) -> Registry:
    registry.register(_FlakyPlugin, name="flaky-tracker")
    return registry


@pytest.mark.parametrize("fail_in", ["ilm_run_start", "ilm_episode_end", "ilm_run_end", "close"])
def test_a_failing_tracker_is_one_notice_and_the_run_completes(flaky_registry, tmp_path, fail_in):
    notices: list[str] = []
    clean = run(flaky_registry, tmp_path / "clean", {})
    summary = run(flaky_registry, tmp_path / "run", {"flaky": {"fail_in": fail_in}}, notices)
    assert summary["episodes"] == 3 and (tmp_path / "run" / "summary.json").is_file()
    assert [n for n in notices if "tracker" in n] == notices and len(notices) == 1
    assert f"tracker 'flaky' failed in {fail_in}(): OSError" in notices[0] and "No space left" in notices[0]
    assert clean["switched_off"] == {}
    if fail_in not in ("ilm_run_end", "close"):  # (summary.json is written before ilm_run_end and close)
        assert list(summary["switched_off"]) == ["flaky"] and fail_in in summary["switched_off"]["flaky"]
    calls = _Flaky.last.calls
    assert calls.count(fail_in) == 1 and calls[-1] == "close"  # switched off after its error, then closed
    assert [r | {"seconds": 0} for r in records(tmp_path / "run")] == [
        r | {"seconds": 0} for r in records(tmp_path / "clean")
    ]
    assert summary["config_sha"] == clean["config_sha"]


def test_ilm_run_with_a_failing_tracker_exits_0_with_one_notice(cli, tmp_path):
    pytest.importorskip("tensorboard")
    from conftest import TINY

    out = tmp_path / "run"
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the tracker wants a folder")
    tracker = ["--tracker", "tensorboard", "--set", f"trackers.tensorboard.dir={blocker / 'events'}"]
    code, stdout, stderr = cli("run", *TINY, *tracker, "--out", str(out))
    assert code == 0, stderr
    text = " ".join(stdout.split())
    assert text.count("notice:") == 1 and "tracker 'tensorboard' failed in ilm_run_start" in text
    assert json.loads((out / "summary.json").read_text())["episodes"] == 3


def test_tracker_choices_are_checked_before_the_run_starts(flaky_registry, tmp_path):
    with pytest.raises(ConfigError, match=r"unknown tracker 'nope'.*Installed trackers:.*flaky"):
        resolve({**BASE, "trackers": "nope"}, flaky_registry)
    with pytest.raises(ConfigError, match=r"trackers\.flaky\.colour"):
        resolve({**BASE, "trackers": {"flaky": {"colour": "red"}}}, flaky_registry)
    with pytest.raises(ConfigError, match="trackers = 5 is invalid"):
        resolve(assemble(None, {}, ["trackers=5"]), flaky_registry)
    cfg = resolve({**BASE, "trackers": "needs-extra"}, flaky_registry)
    with pytest.raises(ConfigError, match=r"no_such_module_for_ilm_tests.*pip install 'ilm\[nothing\]'"):
        Experiment(cfg, flaky_registry, RunDir(tmp_path / "run")).run()
    assert not (tmp_path / "run").exists()  # nothing written


def test_tracker_spellings_flags_and_set_agree(flaky_registry):
    def trackers(*args, flag=None, base=None):
        return resolve(assemble(None, {"trackers": flag}, list(args), base=base), flaky_registry).trackers

    assert trackers("trackers=flaky") == {"flaky": {"fail_in": "ilm_episode_end"}}
    assert trackers('trackers=["flaky"]') == trackers(flag="flaky")
    assert trackers("trackers.flaky.fail_in=ilm_run_end") == {"flaky": {"fail_in": "ilm_run_end"}}
    # the flag chooses the trackers and keeps the params a config gave them
    kept = trackers(flag="flaky", base={"trackers": {"flaky": {"fail_in": "close"}}})
    assert kept == {"flaky": {"fail_in": "close"}}
    assert trackers(flag="", base={"trackers": {"flaky": {}}}) == {}


def test_trackers_may_change_when_a_run_resumes(flaky_registry, tmp_path):
    out = tmp_path / "run"
    cfg = resolve({**BASE, "episodes": 3}, flaky_registry)
    with pytest.raises(KeyboardInterrupt):
        Experiment(cfg, flaky_registry, RunDir(out)).run(observers=[_Interrupt(at=0)])
    watched = cfg.model_copy(update={"trackers": {"flaky": {"fail_in": "never"}}})
    summary = Experiment(watched, flaky_registry, RunDir(out)).run(resume=True)
    assert summary["episodes"] == 3
    assert json.loads((out / "config.json").read_text())["trackers"] == {"flaky": {"fail_in": "never"}}
    assert _Flaky.last.calls[0] == "ilm_run_start" and _Flaky.last.calls.count("ilm_episode_end") == 2


def test_ilm_plugins_lists_the_trackers_and_the_ray_executor(cli):
    code, out, _ = cli("plugins", "--json")
    assert code == 0
    rows = {(r["kind"], r["name"]): r for r in json.loads(out)}
    assert {("tracker", "tensorboard"), ("tracker", "mlflow"), ("executor", "ray")} <= set(rows)
    assert rows[("executor", "ray")]["roadmap"] == ["student.training.several-at-once"]
    for key in (("tracker", "tensorboard"), ("tracker", "mlflow"), ("executor", "ray")):
        row = rows[key]
        assert row["status"] == "ok" or row["install"] == f"pip install -e '.[{key[1]}]'", row  # from a clone


def test_an_mlflow_server_that_does_not_answer_is_refused_quickly_before_the_run(tmp_path):
    """A tracking URI nobody answers at: exit 2 within the test's timeout, one paragraph naming the URI,
    and no run directory left behind."""
    import subprocess
    import sys

    from conftest import TINY

    pytest.importorskip("mlflow")
    out = tmp_path / "run"
    ilm = str(Path(sys.executable).with_name("ilm"))
    args = [ilm, "run", *TINY, "--tracker", "mlflow", "--set", "trackers.mlflow.tracking_uri=http://127.0.0.1:9"]
    done = subprocess.run([*args, "--out", str(out)], capture_output=True, text=True, timeout=150)
    assert done.returncode == 2, done.stderr
    message = " ".join(done.stderr.split())
    assert "http://127.0.0.1:9 does not answer" in message and "Traceback" not in message
    assert not out.exists()
