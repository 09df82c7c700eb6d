"""The run directory: resolved config, metrics.jsonl, checkpoints, summary, a lock.

Every file is written so that a crash at any instant leaves either the old or the new
version: whole files go through a temp file, fsync and rename; metrics.jsonl gets one
complete line per episode, fsync'ed, and a torn last line from an older crash is dropped
with a notice when the run is read or resumed.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from ilm_core.config import upgrade_recorded
from ilm_core.errors import RunDirError
from ilm_core.files import atomic_write_bytes, atomic_write_json, fsync_dir, json_text, write_failed
from ilm_core.signals import deferred

CONFIG = "config.json"
#: sha256 of the resolved config as written: a hand-edited config.json is refused on resume
CONFIG_HASH = "config.sha256"
METRICS = "metrics.jsonl"
SUMMARY = "summary.json"
LOCK = "run.lock"
CHECKPOINTS = "checkpoints"
#: files the environment made for the run (e.g. its trained tokenizer)
ENVIRONMENT = "environment"
#: where the run came from (ilm_core/provenance.py)
PROVENANCE = "provenance.json"
#: what ilm writes into a run directory (anything else there means the folder is not a run)
RUN_FILES = frozenset({CONFIG, CONFIG_HASH, METRICS, SUMMARY, LOCK, CHECKPOINTS, ENVIRONMENT, PROVENANCE})
_CKPT = re.compile(r"^episode-(\d{6})\.pt$")


def config_hash(config: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()


def read_jsonl(path: Path, notify: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """Read complete records; a torn or unparsable last line is dropped with a notice."""
    if not path.exists():
        return []
    try:
        lines = path.read_bytes().split(b"\n")
    except OSError as exc:
        raise RunDirError(
            f"cannot read {path}: {exc.strerror or exc}; it should be the file of finished episodes that ilm writes"
        ) from None
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


class UnsavableStateError(RunDirError):
    """The checkpoint state cannot be serialised (the loop names the plugin whose state it is)."""


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
        self._made = not self.path.exists()
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise RunDirError(f"{self.path} is a file, not a directory; choose another --out") from None
        except OSError as exc:
            raise RunDirError(f"cannot create the run directory {self.path}: {exc.strerror or exc}") from None
        folder = self.path / CHECKPOINTS
        try:
            folder.mkdir(exist_ok=True)
        except FileExistsError:
            raise RunDirError(
                f"{folder} is a file, not the folder of the run's checkpoints; ilm did not write it. Move it "
                "away (the run's checkpoints belong there), then run the command again"
            ) from None
        except OSError as exc:
            raise RunDirError(f"cannot create {folder}: {exc.strerror or exc}") from None

    def check_new(self) -> None:
        """Refuse, before anything is written, a place where a new run would mix with other files."""
        if str(self.path) in ("", "."):
            raise RunDirError(
                "--out names the current directory; a run writes config.json, metrics.jsonl, checkpoints/ and "
                "more into its directory, so give it a folder of its own (e.g. --out runs/my-run)"
            )
        if not self.path.is_dir():
            return
        try:
            others = sorted(p.name for p in self.path.iterdir() if p.name not in RUN_FILES and ".tmp-" not in p.name)
        except OSError as exc:
            raise RunDirError(f"cannot read the folder {self.path}: {exc.strerror or exc}") from None
        if others and not self.is_run():
            shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
            raise RunDirError(
                f"--out {self.path} is a folder that holds other files ({shown}) and is not an ilm run "
                "directory; a run would mix its files with them. Choose a new or empty folder."
            )

    def discard(self) -> None:
        """Remove what a new run wrote before its first episode finished (a failed start)."""
        if self.has_episodes():
            return
        for name in (CONFIG, CONFIG_HASH, METRICS, LOCK, PROVENANCE):
            try:
                (self.path / name).unlink(missing_ok=True)
            except OSError:
                pass
        self.remove_stale_temp_files()
        for folder in [self.path / CHECKPOINTS] + ([self.path] if getattr(self, "_made", False) else []):
            try:
                folder.rmdir()  # only when empty
            except OSError:
                pass

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

    def unlock(self, remove: bool = False) -> None:
        """Release the lock; `remove=True` (a finished run) also deletes run.lock."""
        if self._lock is not None:
            if remove:  # while still held, so no other process is between opening and locking it
                (self.path / LOCK).unlink(missing_ok=True)
            self._lock.release()
            self._lock = None

    # -- config, metrics, summary ---------------------------------------------------------
    def write_config(self, config: dict[str, Any]) -> None:
        atomic_write_json(self.path / CONFIG, config)
        atomic_write_bytes(self.path / CONFIG_HASH, (config_hash(config) + "\n").encode())

    def check_config_unchanged(self) -> dict[str, Any]:
        """The saved config, refused when config.json no longer matches the hash written with it."""
        written = self._config_as_written()
        try:
            recorded = (self.path / CONFIG_HASH).read_text().strip()
        except FileNotFoundError:
            return upgrade_recorded(written)  # a run written before hashes were kept
        except OSError as exc:
            raise RunDirError(f"cannot read {self.path / CONFIG_HASH}: {exc.strerror or exc}") from None
        if recorded != config_hash(written):
            raise RunDirError(
                f"{self.path / CONFIG} was changed after the run started (it no longer matches {CONFIG_HASH}), so it "
                "no longer describes the config that ran. Restore it to continue the run, or start a new run "
                f"from the edited file: `ilm run --config {self.path / CONFIG} --out NEW_DIR`."
            )
        return upgrade_recorded(written)

    def read_config(self) -> dict[str, Any]:
        """The saved config, in today's field names (a run recorded before a field was renamed reads as new)."""
        return upgrade_recorded(self._config_as_written())

    def _config_as_written(self) -> dict[str, Any]:
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
        line = (json_text(record) + "\n").encode()
        new = not self.metrics_path.exists()
        with deferred():
            try:
                fd = os.open(self.metrics_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                try:
                    view = memoryview(line)
                    while view:  # a short write would otherwise leave a torn line behind
                        view = view[os.write(fd, view) :]
                    os.fsync(fd)
                finally:
                    os.close(fd)
            except OSError as exc:
                raise write_failed(self.metrics_path, exc) from None
            if new:
                fsync_dir(self.path)

    def read_metrics(self, notify: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
        """The finished episodes, in order. A line that repeats the one before it exactly (a file
        copied or appended twice) is dropped with a notice; episodes out of order are an error."""
        records: list[dict[str, Any]] = []
        for number, record in enumerate(read_jsonl(self.metrics_path, notify), start=1):
            episode = record.get("episode") if isinstance(record, dict) else None
            if records and record == records[-1]:
                if notify:
                    notify(f"{self.metrics_path} line {number} repeats episode {episode} exactly; the copy is ignored")
                continue
            if episode != len(records):
                raise RunDirError(
                    f"{self.metrics_path} line {number} holds episode {episode!r} where episode {len(records)} was "
                    "expected; the file was changed by something other than ilm (restore it, or start a new run)"
                )
            records.append(record)
        return records

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
        try:
            data_now = self.metrics_path.read_bytes() if self.metrics_path.exists() else b""
        except OSError as exc:
            raise RunDirError(f"cannot read {self.metrics_path}: {exc.strerror or exc}") from None
        lines = sum(1 for line in data_now.split(b"\n") if line.strip())
        if lines == n and (not data_now or data_now.endswith(b"\n")):
            return
        if len(records) > n and notify:
            notify(
                f"dropped {len(records) - n} episode(s) after the checkpoint from {self.metrics_path}; "
                "the resumed run repeats them"
            )
        data = "".join(json_text(r) + "\n" for r in records[:n]).encode()
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
        try:
            torch.save(state, buffer)
        except Exception as exc:  # pickling fails with many exception types
            raise UnsavableStateError(f"{type(exc).__name__}: {exc}") from exc
        path = self.path / CHECKPOINTS / f"episode-{episode:06d}.pt"
        atomic_write_bytes(path, buffer.getvalue())
        for old in self.checkpoints()[:-keep]:
            try:
                old.unlink(missing_ok=True)
            except OSError as exc:
                raise RunDirError(f"cannot delete the old checkpoint {old}: {exc.strerror or exc}") from None
        return path

    def load_checkpoint(
        self,
        notify: Callable[[str], None],
        max_episode: int | None = None,
        accept: Callable[[dict[str, Any], Path], None] | None = None,
    ) -> tuple[dict[str, Any], Path] | None:
        """The newest checkpoint that loads; a damaged one is named and the previous one used.

        A checkpoint after `max_episode` (more episodes than metrics.jsonl holds) is skipped
        too: resuming from it would leave a gap in the metrics. So is one that `accept` rejects
        by raising (well formed, but not this run's: another environment, a teacher state that
        does not load).
        """
        import torch

        found = self.checkpoints()
        if max_episode == 0 and found and not self.metrics_path.exists():
            raise RunDirError(
                f"{self.metrics_path} is missing, but {self.path / CHECKPOINTS} holds checkpoints up to "
                f"{found[-1].name}: the records of the finished episodes are gone, so the run cannot continue "
                f"where it stopped. Restore metrics.jsonl, or delete {self.path / CHECKPOINTS} and --resume to "
                "repeat the run from its start."
            )
        damaged: list[str] = []
        ahead = False
        for path in reversed(found):
            try:
                state = torch.load(path, map_location="cpu", weights_only=False)
                if not isinstance(state, dict) or not isinstance(state.get("episode"), int) or "teacher" not in state:
                    raise ValueError("not an ilm checkpoint")
            except Exception as exc:
                reason = _one_line(exc)
                damaged.append(f"{path} ({reason})")
                notify(f"checkpoint {path} is damaged or truncated ({reason}); trying an older one")
                continue
            if max_episode is not None and state["episode"] > max_episode:
                ahead = True
                damaged.append(f"{path} (after episode {state['episode']}, but metrics.jsonl has {max_episode})")
                notify(
                    f"checkpoint {path} is after episode {state['episode']} but {self.metrics_path} holds "
                    f"only {max_episode} episodes; trying an older one"
                )
                continue
            if accept is not None:
                try:
                    accept(state, path)
                except Exception as exc:
                    reason = _one_line(exc)
                    damaged.append(f"{path} ({reason})")
                    notify(f"checkpoint {path} does not fit this run ({reason}); trying an older one")
                    continue
            if damaged:
                notify(f"resuming from the older checkpoint {path}")
            return state, path
        if damaged:
            if ahead:
                kept = (
                    f"{self.metrics_path} holds only {max_episode} finished episode(s), fewer than the checkpoints "
                    "reach (it was shortened by something other than ilm)"
                )
            else:
                kept = "The finished episodes in metrics.jsonl are intact"
            raise RunDirError(
                "no checkpoint of the run can be used: "
                + "; ".join(damaged)
                + f". {kept}; delete the unusable checkpoint(s) "
                "and --resume to repeat the run from its start (keep_checkpoints >= 2 survives one "
                "damaged checkpoint)"
            )
        return None


def _one_line(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split()).rstrip(".")
