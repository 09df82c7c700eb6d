"""The `tensorboard` tracker: event files in the run directory (`tensorboard --logdir runs/`).

Per episode: every scalar of `common.scalars` at step = episode. At the start: the resolved
config as TensorBoard hparams and as a text summary. At the end: the run's figures as images.
A resumed run writes a new event file that drops what the earlier files hold (purge step 0)
and logs the finished episodes again from metrics.jsonl, so TensorBoard shows each episode
once, as metrics.jsonl has it, wherever the earlier process was stopped.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from ilm_core import EpisodeRecord, Tracker
from ilm_plugins.trackers import TensorBoardParams
from ilm_report.figures import run_figures

from .common import TAGS, earlier_records, flat_params, scalars


class TensorBoardTracker(Tracker):
    def __init__(self, params: TensorBoardParams) -> None:
        self.params = params
        self.writer: Any = None

    def log_dir(self, run: Any) -> Path:
        return Path(run.run_dir.path) / self.params.dir

    def ilm_run_start(self, run: Any) -> None:
        from torch.utils.tensorboard import SummaryWriter
        from torch.utils.tensorboard.summary import hparams

        self.writer = SummaryWriter(
            log_dir=str(self.log_dir(run)),
            purge_step=0 if run.first_episode else None,
            flush_secs=self.params.flush_secs,
        )
        config = run.config.model_dump(mode="json")
        metrics = {tag: 0.0 for tag in TAGS.values()}  # names only: the values are the scalars below
        for summary in hparams(flat_params(config), metrics):
            self.writer.file_writer.add_summary(summary)
        text = json.dumps(config, indent=2).replace("\n", "\n    ")
        self.writer.add_text("config", "    " + text, global_step=0)
        for record in earlier_records(run):
            self.ilm_episode_end(run, record)

    def ilm_episode_end(self, run: Any, record: EpisodeRecord) -> None:
        for tag, value in scalars(record).items():
            self.writer.add_scalar(tag, value, global_step=record.episode)

    def ilm_run_end(self, run: Any, summary: dict[str, Any]) -> None:
        last = max(0, int(summary.get("episodes", 1)) - 1)
        if self.params.figures:
            import matplotlib.image

            with tempfile.TemporaryDirectory(prefix="ilm-figures-") as tmp:
                for path in run_figures(Path(run.run_dir.path), Path(tmp), run.environment.exam_domain):
                    image = matplotlib.image.imread(path)[..., :3]
                    self.writer.add_image(f"figures/{path.stem}", image, global_step=last, dataformats="HWC")
        self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
