"""Trackers: TensorBoard and MLflow follow a run (per-episode scalars, the config, the figures).

Each is an optional extra (`pip install -e '.[tensorboard]'`, `'.[mlflow]'` in a clone), imported only
when a run chooses it (`ilm run --tracker tensorboard,mlflow`).
"""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import BaseModel, ConfigDict, Field

from ilm_core import PluginSpec, TrackerSpec, hookimpl


class TensorBoardParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dir: str = Field("tensorboard", description="folder of the event files, relative to the run directory")
    flush_secs: float = Field(10.0, gt=0, description="longest time before written events reach the disk")
    figures: bool = Field(True, description="add the run's figures as images when it completes")


class MlflowParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tracking_uri: str | None = Field(
        None,
        description="where runs are stored: a file store (file:/path), a database (sqlite:///mlflow.db) or a "
        "server (http://host:5000); None = $MLFLOW_TRACKING_URI, else a file store in <run directory>/mlruns",
    )
    experiment: str = Field("ilm", min_length=1, description="MLflow experiment the run is filed under")
    run_name: str | None = Field(None, description="None = the run directory's name")
    figures: bool = Field(True, description="log the run's figures as artifacts when it completes")
    timeout: float = Field(
        10.0, gt=0, description="seconds a tracking server may take to answer before the run is refused"
    )


@hookimpl
def ilm_trackers() -> Iterator[PluginSpec]:  # TrackerSpec is made at run time: not a type to mypy
    yield TrackerSpec(
        name="tensorboard",
        summary="writes per-episode scalars, the config (as hparams) and the figures as TensorBoard event files",
        factory="ilm_plugins.trackers.tensorboard_tracker:TensorBoardTracker",
        params=TensorBoardParams,
        requires=("tensorboard",),
        install_hint="pip install -e '.[tensorboard]'",
    )
    yield TrackerSpec(
        name="mlflow",
        summary="logs the config as params, per-episode metrics and the figures to MLflow (local file store)",
        factory="ilm_plugins.trackers.mlflow_tracker:MlflowTracker",
        params=MlflowParams,
        requires=("mlflow",),
        install_hint="pip install -e '.[mlflow]'",
    )
