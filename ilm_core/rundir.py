"""The run directory: resolved config, metrics.jsonl, checkpoints, summary, a lock.

Every file is written so that a crash at any instant leaves either the old or the new
version: whole files go through a temp file, fsync and rename; metrics.jsonl gets one
complete line per episode, fsync'ed, and a torn last line from an older crash is dropped
with a notice when the run is read or resumed.
"""

from __future__ import annotations

import io
import json
import os
import re
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from ilm_core.errors import RunDirError

CONFIG = "config.json"
METRICS = "metrics.jsonl"
SUMMARY = "summary.json"
LOCK = "run.lock"
CHECKPOINTS = "checkpoints"
#: files the environment made for the run (e.g. its trained tokenizer)
ENVIRONMENT = "environment"
_CKPT = re.compile(r"^episode-(\d{6})\.pt$")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` so a reader sees the old file or the new one, never half."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=False) + "\n").encode())


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_jsonl(path: Path, notify: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """Read complete records; a torn or unparsable last line is dropped with a notice."""
    if not path.exists():
        return []
    lines = path.read_bytes().split(b"\n")
    records = []
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except ValueError:
            last = all(not rest.strip() for rest in lines[i + 1 :])
            if not last:
                raise RunDirError(
                    f"{path} line {i + 1} is damaged and is not the last line; the file was "
                    "changed by something other than ilm"
                ) from None
            if notify:
                notify(f"dropped a torn last line of {path} (left by an interrupted run)")
    return records


class RunDir:
    """One run's directory."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock: FileLock | None = None

    @property
    def metrics_path(self) -> Path:
        return self.path / METRICS

    def is_run(self) -> bool:
        return (self.path / CONFIG).is_file()

    def has_episodes(self) -> bool:
        """Whether a finished episode (a metrics line or a checkpoint) would be lost by starting over."""
        metrics = self.metrics_path
        return (metrics.is_file() and metrics.stat().st_size > 0) or bool(self.checkpoints())

    def create(self) -> None:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            (self.path / CHECKPOINTS).mkdir(exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise RunDirError(f"{self.path} is a file, not a directory; choose another --out") from None
        except OSError as exc:
            raise RunDirError(f"cannot create the run directory {self.path}: {exc.strerror or exc}") from None

    def remove_stale_temp_files(self) -> None:
        """Temp files of atomic writes that a killed process never renamed (only call under the lock)."""
        for folder in (self.path, self.path / CHECKPOINTS, self.path / ENVIRONMENT):
            if folder.is_dir():
                for tmp in folder.glob(".*.tmp-*"):
                    tmp.unlink(missing_ok=True)

    def write_artifacts(self, files: dict[str, str]) -> None:
        """Files an environment made (e.g. its tokenizer), kept in environment/ beside the run."""
        if files:
            (self.path / ENVIRONMENT).mkdir(exist_ok=True)
        for name, text in files.items():
            atomic_write_bytes(self.path / ENVIRONMENT / name, text.encode())

    # -- lock ------------------------------------------------------------------------------
    def lock(self) -> None:
        """Take the run directory's lock, or fail naming the process that holds it."""
        path = self.path / LOCK
        lock = FileLock(path, blocking=False)
        try:
            lock.acquire()
        except Timeout:
            try:
                holder = path.read_text(encoding="utf-8").strip() or "another process"
            except OSError:
                holder = "another process"
            raise RunDirError(
                f"run directory {self.path} is in use by {holder} (it holds {path}); "
                "wait for it to finish or stop it, or choose another --out directory"
            ) from None
        except OSError as exc:
            raise RunDirError(f"cannot open the lock file of {self.path}: {exc.strerror or exc}") from None
        path.write_text(f"process {os.getpid()} on {socket.gethostname()}", encoding="utf-8")  # for a waiting process
        self._lock = lock

    def unlock(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    # -- config, metrics, summary ---------------------------------------------------------
    def write_config(self, config: dict[str, Any]) -> None:
        atomic_write_json(self.path / CONFIG, config)

    def read_config(self) -> dict[str, Any]:
        try:
            config = json.loads((self.path / CONFIG).read_text(encoding="utf-8"))
        except (FileNotFoundError, NotADirectoryError):
            raise RunDirError(
                f"{self.path} is not an ilm run directory (no {CONFIG}); give a directory "
                "written by `ilm run` (its --out)"
            ) from None
        except OSError as exc:
            raise RunDirError(f"cannot read {self.path / CONFIG}: {exc.strerror or exc}") from None
        except ValueError as exc:
            raise RunDirError(f"{self.path / CONFIG} is damaged: {exc}") from None
        if not isinstance(config, dict):
            raise RunDirError(f"{self.path / CONFIG} is damaged: it holds a {type(config).__name__}, not a config")
        return config

    def append_metric(self, record: dict[str, Any]) -> None:
        """Append one complete line and fsync it before returning."""
        line = (json.dumps(record) + "\n").encode()
        new = not self.metrics_path.exists()
        fd = os.open(self.metrics_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            view = memoryview(line)
            while view:  # a short write would otherwise leave a torn line behind
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        if new:
            _fsync_dir(self.path)

    def read_metrics(self, notify: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
        return read_jsonl(self.metrics_path, notify)

    def keep_metrics(
        self, n: int, notify: Callable[[str], None] | None = None, records: list[dict[str, Any]] | None = None
    ) -> None:
        """Keep the first n complete records (drop a torn line and episodes after a checkpoint).

        Episodes after the checkpoint are dropped because the resumed run repeats them.
        """
        if records is None:
            records = self.read_metrics(notify)
        if len(records) < n:
            raise RunDirError(
                f"{self.metrics_path} has {len(records)} episodes but the checkpoint is after episode {n}; "
                "the file was changed by something other than ilm"
            )
        data_now = self.metrics_path.read_bytes() if self.metrics_path.exists() else b""
        lines = sum(1 for line in data_now.split(b"\n") if line.strip())
        if lines == n and (not data_now or data_now.endswith(b"\n")):
            return
        if len(records) > n and notify:
            notify(
                f"dropped {len(records) - n} episode(s) after the checkpoint from {self.metrics_path}; "
                "the resumed run repeats them"
            )
        data = "".join(json.dumps(r) + "\n" for r in records[:n]).encode()
        atomic_write_bytes(self.metrics_path, data)

    def write_summary(self, summary: dict[str, Any]) -> None:
        atomic_write_json(self.path / SUMMARY, summary)

    # -- checkpoints -----------------------------------------------------------------------
    def checkpoints(self) -> list[Path]:
        """Checkpoint files, oldest first."""
        folder = self.path / CHECKPOINTS
        if not folder.is_dir():
            return []
        return sorted(p for p in folder.iterdir() if _CKPT.match(p.name))

    def save_checkpoint(self, episode: int, state: dict[str, Any], keep: int) -> Path:
        import torch

        buffer = io.BytesIO()
        torch.save(state, buffer)
        path = self.path / CHECKPOINTS / f"episode-{episode:06d}.pt"
        atomic_write_bytes(path, buffer.getvalue())
        for old in self.checkpoints()[:-keep]:
            old.unlink(missing_ok=True)
        return path

    def load_checkpoint(
        self, notify: Callable[[str], None], max_episode: int | None = None
    ) -> tuple[dict[str, Any], Path] | None:
        """The newest checkpoint that loads; a damaged one is named and the previous one used.

        A checkpoint after `max_episode` (more episodes than metrics.jsonl holds) is skipped
        too: resuming from it would leave a gap in the metrics.
        """
        import torch

        damaged: list[str] = []
        for path in reversed(self.checkpoints()):
            try:
                state = torch.load(path, map_location="cpu", weights_only=False)
                if not isinstance(state, dict) or not isinstance(state.get("episode"), int) or "teacher" not in state:
                    raise ValueError("not an ilm checkpoint")
            except Exception as exc:
                reason = " ".join(f"{type(exc).__name__}: {exc}".split()).rstrip(".")
                damaged.append(f"{path} ({reason})")
                notify(f"checkpoint {path} is damaged or truncated ({reason}); trying an older one")
                continue
            if max_episode is not None and state["episode"] > max_episode:
                damaged.append(f"{path} (after episode {state['episode']}, but metrics.jsonl has {max_episode})")
                notify(
                    f"checkpoint {path} is after episode {state['episode']} but {self.metrics_path} holds "
                    f"only {max_episode} episodes; trying an older one"
                )
                continue
            if damaged:
                notify(f"resuming from the older checkpoint {path}")
            return state, path
        if damaged:
            raise RunDirError(
                "no checkpoint of the run can be used: "
                + "; ".join(damaged)
                + ". The finished episodes in metrics.jsonl are intact; delete the damaged checkpoint(s) "
                "and --resume to repeat the run from its start (keep_checkpoints >= 2 survives one "
                "damaged checkpoint)"
            )
        return None
