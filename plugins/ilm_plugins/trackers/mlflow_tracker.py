"""The `mlflow` tracker: the config as params, per-episode metrics, the figures as artifacts.

By default it writes an MLflow file store inside the run directory (`<run>/mlruns`: no server,
no network; `mlflow ui --backend-store-uri <run>/mlruns`), or wherever `$MLFLOW_TRACKING_URI`
or the `tracking_uri` param points (one store for a whole sweep, a database, a server). The
MLflow run's id is kept in `<run>/mlflow-run.json`, so `ilm run --resume` continues the same
MLflow run and logs only the episodes it has not logged yet (those finished before the resume
are read from metrics.jsonl).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

from ilm_core import ConfigError, EpisodeRecord, Tracker, atomic_write_json
from ilm_plugins.trackers import MlflowParams
from ilm_report.figures import run_figures

from .common import earlier_records, flat_params, scalars

RUN_FILE = "mlflow-run.json"
PARAMS_PER_CALL = 100  # MLflow's limit of params in one log_batch


def tracking_uri(setting: str | None, run_dir: Path) -> str:
    """The param, else $MLFLOW_TRACKING_URI, else a file store in the run directory."""
    uri = setting or os.environ.get("MLFLOW_TRACKING_URI") or (Path(run_dir).resolve() / "mlruns").as_uri()
    if uri.startswith("file:") or "://" not in uri:
        # MLflow refuses its file store unless asked for it; a local store is what we want here
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    return uri


def check_server(uri: str, timeout: float) -> None:
    """Refuse, before the run starts, a tracking server that does not answer within `timeout` seconds
    (MLflow itself would retry for minutes); any HTTP answer counts, stores that are not servers pass."""
    import urllib.error
    import urllib.request

    if not uri.startswith(("http://", "https://")):
        return
    try:
        with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout):
            return
    except urllib.error.HTTPError:
        return  # it answered, if not with "OK": MLflow's own calls will say what is wrong
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ConfigError(
            f"tracker 'mlflow': the tracking server {uri} does not answer ({reason}; waited at most {timeout:g} s). "
            "Start the server, or set trackers.mlflow.tracking_uri (or $MLFLOW_TRACKING_URI) to one that answers, "
            "or run without --tracker mlflow; trackers.mlflow.timeout sets the wait. Nothing was written."
        ) from None


class MlflowTracker(Tracker):
    def __init__(self, params: MlflowParams) -> None:
        self.params = params
        uri = params.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
        if uri:
            check_server(uri, params.timeout)
        # MLflow's own calls: a few retries of at most `timeout` seconds each, not minutes of them
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(max(1, round(params.timeout))))
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
        self.client: Any = None
        self.run_id: str | None = None
        self.logged_until = -1  # episodes up to here are in MLflow already (a resumed run)
        self.finished = False

    def ilm_run_start(self, run: Any) -> None:
        from mlflow.tracking import MlflowClient

        run_dir = Path(run.run_dir.path)
        uri = tracking_uri(self.params.tracking_uri, run_dir)
        self.client = MlflowClient(tracking_uri=uri)
        self.run_id = self._continued_run(run_dir, uri) if run.first_episode else None
        if self.run_id is None:
            created = self.client.create_run(
                self._experiment_id(),
                run_name=self.params.run_name or run_dir.name,
                tags={"ilm.run_dir": str(run_dir.resolve()), "ilm.executor": run.executor},
            )
            self.run_id = created.info.run_id
            atomic_write_json(run_dir / RUN_FILE, {"tracking_uri": uri, "run_id": self.run_id})
        params = list(flat_params(run.config.model_dump(mode="json")).items())
        from mlflow.entities import Param

        for start in range(0, len(params), PARAMS_PER_CALL):
            chunk = params[start : start + PARAMS_PER_CALL]
            self.client.log_batch(self.run_id, params=[Param(k, str(v)) for k, v in chunk])
        for record in earlier_records(run, after=self.logged_until):
            self.ilm_episode_end(run, record)

    def _experiment_id(self) -> str:
        """The experiment's id, created when missing (two runs may race to create it)."""
        name = self.params.experiment
        found = self.client.get_experiment_by_name(name)
        if found is not None:
            existing: str = found.experiment_id
            return existing
        try:
            created: str = self.client.create_experiment(name)
            return created
        except Exception:
            found = self.client.get_experiment_by_name(name)
            if found is None:
                raise
            raced: str = found.experiment_id
            return raced

    def _continued_run(self, run_dir: Path, uri: str) -> str | None:
        """The MLflow run this run directory logged to before (same store), reopened."""
        import json

        try:
            saved = json.loads((run_dir / RUN_FILE).read_text())
        except (OSError, ValueError):
            return None
        if saved.get("tracking_uri") != uri:
            return None
        run_id: str = saved["run_id"]
        self.client.update_run(run_id, status="RUNNING")
        history = self.client.get_metric_history(run_id, "reward/mean")
        self.logged_until = max((m.step for m in history), default=-1)
        return run_id

    def ilm_episode_end(self, run: Any, record: EpisodeRecord) -> None:
        if record.episode <= self.logged_until:
            return
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = [Metric(tag, value, now, record.episode) for tag, value in scalars(record).items()]
        self.client.log_batch(self.run_id, metrics=metrics)

    def ilm_run_end(self, run: Any, summary: dict[str, Any]) -> None:
        run_dir = Path(run.run_dir.path)
        if self.params.figures:
            with tempfile.TemporaryDirectory(prefix="ilm-figures-") as tmp:
                run_figures(run_dir, Path(tmp), run.environment.exam_domain)
                self.client.log_artifacts(self.run_id, tmp, artifact_path="figures")
        for name in ("config.json", "summary.json"):
            self.client.log_artifact(self.run_id, str(run_dir / name))
        self.client.set_terminated(self.run_id, status="FINISHED")
        self.finished = True

    def close(self) -> None:
        if self.client is not None and self.run_id is not None and not self.finished:
            self.client.set_terminated(self.run_id, status="FAILED")  # stopped before its last episode
