"""A cache for deterministic set-up work (a teacher's pretrained LM), shared by runs and processes.

A plugin whose set-up is slow and depends only on known inputs asks the cache instead of
rebuilding: `tools.cache.get_or_build(kind, key, build)`. `key` is a JSON-able dict of
everything the result depends on (a fingerprint of the data, the params, the seed, the device,
the code: see `data_fingerprint` and `code_fingerprint`); the cache adds ilm's version. A sweep,
the baselines, a resume and `ilm inspect` then set up in a fraction of the time, with identical
results: an entry holds the exact value `build` returned (pickled).

Safety:
- Each entry is written atomically (payload, then its checksummed index file); a reader sees a
  whole entry or none.
- Runs in several processes share the cache: a file lock per key lets one build while the
  others wait and then read its entry.
- A damaged entry (wrong checksum, unreadable) is rebuilt, with a notice naming it.
- Failing to write (a read-only disk) never fails the run: the value is used, with a notice.

Where: `$ILM_CACHE_DIR`, else `$XDG_CACHE_HOME/ilm`, else `~/.cache/ilm`. Off: `ILM_CACHE=off`
(or `--no-cache` on the commands that run experiments). Remove the folder to clear it.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import pickle
import socket
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

T = TypeVar("T")

ENV_DIR = "ILM_CACHE_DIR"
ENV_SWITCH = "ILM_CACHE"
_OFF = {"0", "off", "false", "no"}
#: how long a process waits for another that builds the same entry before building it itself
LOCK_TIMEOUT = 1800.0
#: after this many seconds of waiting for that process, the user is told who it is and why the run waits
WAIT_NOTICE_AFTER = 2.0


def default_root() -> Path:
    if os.environ.get(ENV_DIR):
        return Path(os.environ[ENV_DIR]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "ilm"


def enabled_by_env() -> bool:
    return os.environ.get(ENV_SWITCH, "on").strip().lower() not in _OFF


def data_fingerprint(*parts: Any) -> str:
    """A short hash of JSON-able data (sentences, vocabularies): what a cached result was built from."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def code_fingerprint(*modules: ModuleType) -> str:
    """A short hash of the source of `modules`: editing the code that builds an entry retires it."""
    digest = hashlib.sha256()
    for module in modules:
        try:
            digest.update(inspect.getsource(module).encode())
        except (OSError, TypeError):
            digest.update(getattr(module, "__name__", repr(module)).encode())
    return digest.hexdigest()[:16]


class SetupCache:
    """Entries under `root/<kind>/<key hash>`; `root=None` is a cache that is off (always builds)."""

    def __init__(self, root: Path | None, notify: Callable[[str], None] = lambda message: None):
        self.root = Path(root) if root is not None else None
        self.notify = notify
        #: what the last get_or_build did: "hit", "miss", "rebuilt" (damaged entry), "off"
        self.last: str = "off"

    @classmethod
    def from_env(cls, enabled: bool = True, notify: Callable[[str], None] = lambda message: None) -> SetupCache:
        """The user's cache (see the module docstring), or one that is off."""
        return cls(default_root() if enabled and enabled_by_env() else None, notify)

    @classmethod
    def off(cls) -> SetupCache:
        return cls(None)

    @property
    def enabled(self) -> bool:
        return self.root is not None

    def entry(self, kind: str, key: dict[str, Any]) -> Path:
        """The payload path of (kind, key); its index file is the same path with `.json`."""
        assert self.root is not None
        from ilm_core import __version__

        digest = data_fingerprint({"key": key, "ilm": __version__})
        safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in kind)
        return self.root / safe / f"{digest}.pkl"

    def get_or_build(self, kind: str, key: dict[str, Any], build: Callable[[], T]) -> T:
        """The cached value of (kind, key), else `build()` stored for next time."""
        if self.root is None:
            self.last = "off"
            return build()
        from filelock import FileLock, Timeout

        path = self.entry(kind, key)
        holder = path.with_suffix(".holder")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            lock = FileLock(str(path.with_suffix(".lock")), timeout=LOCK_TIMEOUT)
            try:
                lock.acquire(timeout=WAIT_NOTICE_AFTER)
            except Timeout:  # another process builds this entry: say so, then wait for it
                try:
                    who = holder.read_text(encoding="utf-8").strip() or "another process"
                except OSError:
                    who = "another process"
                self.notify(
                    f"waiting for {who}, which is building '{kind}' in the set-up cache ({path.parent}); this run "
                    f"reuses it when it is done (at most {LOCK_TIMEOUT / 60:.0f} min). To build it here instead, "
                    "stop this run and start it with --no-cache (or ILM_CACHE=off)"
                )
                lock.acquire()
            try:
                holder.write_text(f"process {os.getpid()} on {socket.gethostname()}", encoding="utf-8")
            except OSError:
                pass
        except (OSError, Timeout) as exc:  # an unwritable or stuck cache: work without it
            self.notify(f"set-up cache {self.root} is not usable ({exc}); building '{kind}' without it")
            self.last = "off"
            return build()
        try:
            return self._locked(kind, key, path, build)
        finally:
            lock.release()

    def _locked(self, kind: str, key: dict[str, Any], path: Path, build: Callable[[], T]) -> T:
        index = path.with_suffix(".json")
        damaged = None
        if index.exists():
            try:
                value: T = self._read(path, index)
                self.last = "hit"
                return value
            except Exception as exc:  # any failure to read back means the entry cannot be trusted
                damaged = f"{type(exc).__name__}: {exc}"
        value = build()
        if damaged is not None:
            self.notify(f"set-up cache entry {path} was damaged ({damaged}); rebuilt it")
            self.last = "rebuilt"
        else:
            self.last = "miss"
        try:
            self._write(kind, key, path, index, value)
        except (OSError, pickle.PicklingError, TypeError, AttributeError) as exc:
            self.notify(f"could not store '{kind}' in the set-up cache {self.root} ({exc}); continuing without it")
        return value

    @staticmethod
    def _read(path: Path, index: Path) -> Any:
        meta = json.loads(index.read_text())
        payload = path.read_bytes()
        digest = hashlib.sha256(payload).hexdigest()
        if digest != meta.get("sha256"):
            raise ValueError(f"checksum {digest[:12]} does not match the index's {str(meta.get('sha256'))[:12]}")
        return pickle.loads(payload)

    @staticmethod
    def _write(kind: str, key: dict[str, Any], path: Path, index: Path, value: Any) -> None:
        from ilm_core.files import atomic_write_bytes, atomic_write_json

        payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        index.unlink(missing_ok=True)  # the index goes last: no index, no entry
        atomic_write_bytes(path, payload)
        meta = {"kind": kind, "key": key, "sha256": hashlib.sha256(payload).hexdigest(), "created": time.time()}
        atomic_write_json(index, meta)
