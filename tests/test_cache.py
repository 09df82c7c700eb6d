"""The set-up cache: hits, misses, damaged entries, concurrent processes, and identical runs."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from ilm_core.cache import SetupCache
from tests.conftest import TINY

KEY = {"data": "abc", "seed": 1}


def counting_build(calls: list[int], value: object = "value") -> object:
    def build() -> object:
        calls.append(1)
        return value

    return build


def test_a_second_request_is_a_hit_and_another_key_a_miss(tmp_path) -> None:
    cache, calls = SetupCache(tmp_path), []
    assert cache.get_or_build("lm", KEY, counting_build(calls, [1.5, 2])) == [1.5, 2] and cache.last == "miss"
    assert cache.get_or_build("lm", KEY, counting_build(calls, "other")) == [1.5, 2] and cache.last == "hit"
    assert cache.get_or_build("lm", {**KEY, "seed": 2}, counting_build(calls, "other")) == "other"
    assert cache.last == "miss" and len(calls) == 2


@pytest.mark.parametrize("damage", ["payload", "index", "truncated"])
def test_a_damaged_entry_is_rebuilt_with_a_notice(tmp_path, damage) -> None:
    notices: list[str] = []
    cache, calls = SetupCache(tmp_path, notices.append), []
    cache.get_or_build("lm", KEY, counting_build(calls, {"x": list(range(100))}))
    payload = cache.entry("lm", KEY)
    if damage == "payload":
        data = bytearray(payload.read_bytes())
        data[len(data) // 2] ^= 0xFF
        payload.write_bytes(bytes(data))
    elif damage == "index":
        payload.with_suffix(".json").write_text("{not json")
    else:
        payload.write_bytes(payload.read_bytes()[:10])
    assert cache.get_or_build("lm", KEY, counting_build(calls, "rebuilt")) == "rebuilt"
    assert cache.last == "rebuilt" and len(calls) == 2
    assert len(notices) == 1 and str(payload) in notices[0] and "damaged" in notices[0]
    assert cache.get_or_build("lm", KEY, counting_build(calls, "again")) == "rebuilt"  # repaired: a hit
    assert cache.last == "hit" and len(calls) == 2


def test_off_always_builds_and_an_unusable_folder_only_gives_a_notice(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("ILM_CACHE", "off")
    off, calls = SetupCache.from_env(), []
    off.get_or_build("lm", KEY, counting_build(calls))
    off.get_or_build("lm", KEY, counting_build(calls))
    assert len(calls) == 2 and not off.enabled
    blocker = tmp_path / "file"
    blocker.write_text("")
    notices: list[str] = []
    unusable = SetupCache(blocker / "cache", notices.append)  # a folder under a file cannot exist
    assert unusable.get_or_build("lm", KEY, counting_build(calls, 7)) == 7
    assert notices and "not usable" in notices[0]


def _build_in_process(root: str, log: str, out: str) -> None:
    """A worker: asks for the same entry; its build is slow and writes down that it ran."""
    import os
    import time

    def build() -> list[int]:
        with open(log, "a") as fh:
            fh.write(f"{os.getpid()}\n")
        time.sleep(1.0)
        return [os.getpid()]

    value = SetupCache(Path(root)).get_or_build("lm", KEY, build)
    Path(out).write_text(json.dumps(value))


def test_processes_sharing_the_cache_build_an_entry_once(tmp_path) -> None:
    context = multiprocessing.get_context("spawn")
    log = tmp_path / "builds.log"
    procs = [
        context.Process(target=_build_in_process, args=(str(tmp_path / "c"), str(log), str(tmp_path / f"out{i}")))
        for i in range(2)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    builders = log.read_text().split()
    assert len(builders) == 1  # one built it; the other waited for the lock and read it
    values = [json.loads((tmp_path / f"out{i}").read_text()) for i in range(2)]
    assert values[0] == values[1] == [int(builders[0])]


def _metrics(path: Path) -> list[dict]:
    return [{k: v for k, v in json.loads(line).items() if k != "seconds"} for line in path.read_text().splitlines()]


@pytest.mark.parametrize("hidden", [0, 4])  # hidden > 0: the policy's init draws from the global RNG after set-up
def test_runs_with_a_cold_cache_a_warm_cache_and_none_give_the_same_records(cli, tmp_path, monkeypatch, hidden):
    monkeypatch.setenv("ILM_CACHE_DIR", str(tmp_path / "cache"))
    args = [*TINY, "--set", f"teacher.hidden={hidden}"]
    for name, extra in (("cold", []), ("warm", []), ("none", ["--no-cache"])):
        code, _, err = cli("run", *args, *extra, "--out", str(tmp_path / name))
        assert code == 0, err
    entries = list((tmp_path / "cache").rglob("*.pkl"))
    assert len(entries) == 1
    cold, warm, none = (_metrics(tmp_path / n / "metrics.jsonl") for n in ("cold", "warm", "none"))
    assert cold == warm == none
    setup = [json.loads((tmp_path / n / "summary.json").read_text())["setup"] for n in ("cold", "warm")]
    assert "setting up the teacher" in setup[0] and "building the environment" in setup[0]


def test_waiting_for_another_process_building_the_entry_says_who_and_why(tmp_path, monkeypatch) -> None:
    import threading

    from filelock import FileLock

    from ilm_core import cache as cache_module

    monkeypatch.setattr(cache_module, "WAIT_NOTICE_AFTER", 0.1)
    notices: list[str] = []
    cache = SetupCache(tmp_path, notify=notices.append)
    path = cache.entry("teacher-lm", {"k": 1})
    path.parent.mkdir(parents=True)
    path.with_suffix(".holder").write_text("process 4242 on elsewhere")
    held = FileLock(str(path.with_suffix(".lock")), thread_local=False)  # released by the timer thread
    held.acquire()
    threading.Timer(0.5, held.release).start()  # the other process finishes after half a second
    assert cache.get_or_build("teacher-lm", {"k": 1}, lambda: 7) == 7
    assert len(notices) == 1 and "waiting for process 4242 on elsewhere" in notices[0] and "--no-cache" in notices[0]
    assert "(at most 30 min)" in notices[0]  # the wait it will bear before building the entry itself


def test_the_cache_lives_under_the_user_cache_folder_unless_told_otherwise(tmp_path, monkeypatch) -> None:
    from ilm_core.cache import ENV_DIR, default_root

    monkeypatch.delenv(ENV_DIR, raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_root() == tmp_path / "home" / ".cache" / "ilm"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_root() == tmp_path / "xdg" / "ilm"
    monkeypatch.setenv(ENV_DIR, str(tmp_path / "mine"))
    assert default_root() == tmp_path / "mine"


def test_a_data_fingerprint_does_not_depend_on_the_order_of_a_mapping() -> None:
    from ilm_core.cache import data_fingerprint

    assert data_fingerprint({"a": 1, "b": [2, 3]}) == data_fingerprint({"b": [2, 3], "a": 1})
    assert data_fingerprint({"a": 1, "b": [2, 3]}) != data_fingerprint({"a": 1, "b": [3, 2]})
