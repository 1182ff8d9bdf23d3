"""The mechanisms every feature shares: settings, the bounded cache and the waiting policy."""

import importlib.util
import threading
from pathlib import Path

import pytest
from pydantic import ValidationError

from blockscope.cache import BoundedCache, clear_all, named, sizes
from blockscope.config import Settings, get_settings, use_settings
from blockscope.errors import Busy
from blockscope.service.admission import WaitingLine

ROOT = Path(__file__).resolve().parents[1]


# --- settings ---------------------------------------------------------------------------------------

def test_settings_come_from_the_environment_and_are_checked(monkeypatch):
    monkeypatch.setenv("BLOCKSCOPE_MAX_CHANNELS", "96")
    monkeypatch.setenv("BLOCKSCOPE_FRAME_ANCESTORS", "'self'")
    read = Settings()
    assert read.max_channels == 96 and read.frame_ancestors == "'self'"
    monkeypatch.setenv("BLOCKSCOPE_MAX_CHANNELS", "0")
    with pytest.raises(ValidationError, match="max_channels"):
        Settings()
    monkeypatch.setenv("BLOCKSCOPE_MAX_CHANNELS", "many")
    with pytest.raises(ValidationError, match="max_channels"):
        Settings()


def test_use_settings_changes_them_for_a_block_and_restores_them():
    before = get_settings()
    with use_settings(max_batch=3) as changed:
        assert get_settings() is changed and changed.max_batch == 3
        assert changed.max_channels == before.max_channels
    assert get_settings() is before
    with pytest.raises(ValidationError), use_settings(max_batch=-1):
        pass
    assert get_settings() is before


def test_the_configuration_doc_lists_every_setting():
    spec = importlib.util.spec_from_file_location("settings_table", ROOT / "scripts" / "settings_table.py")
    table = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(table)
    assert (ROOT / "docs" / "configuration.md").read_text() == table.document(), \
        "run scripts/settings_table.py --write"
    for name in Settings.model_fields:
        assert f"`BLOCKSCOPE_{name.upper()}`" in table.table()


def test_the_registry_reads_its_bounds_when_used(configure):
    from blockscope.registry import BLOCKS
    in_channels = next(p for p in BLOCKS["conv"].params if p.name == "in_channels")
    assert in_channels.max == get_settings().max_channels
    configure(max_channels=32)
    assert in_channels.max == 32 and in_channels.default == 32  # the default of 64 is lowered with it


# --- the bounded cache ------------------------------------------------------------------------------

def test_cache_keeps_the_most_recently_used_entries():
    cache = BoundedCache("test lru", 2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # a is now the most recent
    cache.put("c", 3)
    assert "b" not in cache and cache.get("a") == 1 and cache.get("c") == 3 and len(cache) == 2


def test_cache_entries_expire_after_their_ttl():
    now = [100.0]
    cache = BoundedCache("test ttl", 10, ttl_s=5, clock=lambda: now[0])
    cache.put("k", "v")
    now[0] += 4.9
    assert cache.get("k") == "v"
    now[0] += 0.2
    assert cache.get("k") is None and len(cache) == 0


def test_cache_size_and_ttl_may_name_a_setting(configure):
    cache = BoundedCache("test setting", "sweep_cache", ttl_s="latency_ttl_s")
    assert cache.size == get_settings().sweep_cache and cache.ttl_s == get_settings().latency_ttl_s
    configure(sweep_cache=1)
    cache.put(1, 1)
    cache.put(2, 2)
    assert len(cache) == 1 and cache.get(2) == 2


def test_get_or_compute_computes_once_per_key():
    cache = BoundedCache("test compute", 4)
    calls = []
    for _ in range(3):
        assert cache.get_or_compute("x", lambda: calls.append(1) or 42) == 42
    assert calls == [1]


def test_every_cache_of_the_server_is_registered_and_cleared_together(client):
    client.get("/api/blocks/group_conv?groups=2")
    client.get("/api/blocks/group_conv/sweep?groups=2")
    assert sizes()["analyses"] >= 1 and sizes()["sweeps"] >= 1 and sizes()["graphs"] >= 1
    assert sizes()["sweep points"] >= 1
    every = {"analyses", "graphs", "sweeps", "sweep points", "reparam reports", "reparam checks",
             "guideline analyses"}
    assert every <= set(sizes())
    assert named("sweeps").size == get_settings().sweep_cache
    clear_all()
    assert all(count == 0 for name, count in sizes().items() if not name.startswith("test "))


# --- the waiting policy -----------------------------------------------------------------------------

def test_waiting_line_admits_up_to_its_limit_then_refuses():
    line = WaitingLine("jobs", 2)
    line.enter()
    line.enter()
    with pytest.raises(Busy) as err:
        line.enter()
    assert "2 jobs are already waiting or running" in str(err.value) and err.value.retry_after >= 1
    line.leave()
    line.enter()  # a place came free


def test_retry_after_grows_with_the_work_ahead():
    line = WaitingLine("jobs", 100, typical_s=0.1)
    hints = []
    for _ in range(40):
        line.enter()
        hints.append(line.retry_after())
    assert hints == sorted(hints) and hints[0] == 1 and hints[-1] == 4  # 40 x 0.1 s
    for _ in range(40):
        line.leave(worked_s=2.0)  # the work turned out slower: the estimate follows
    line.enter()
    assert line.typical_s == pytest.approx(2.0, rel=0.01) and line.retry_after() == 2


def test_admit_counts_only_while_the_work_runs():
    line = WaitingLine("jobs", 1)
    inside, release = threading.Event(), threading.Event()

    def work():
        with line.admit():
            inside.set()
            release.wait(5)

    worker = threading.Thread(target=work)
    worker.start()
    assert inside.wait(5)
    with pytest.raises(Busy):
        line.enter()
    release.set()
    worker.join(5)
    assert line.admitted == 0


def test_threads_missing_one_key_at_once_share_one_computation():
    cache = BoundedCache("test shared", 4)
    started, release, calls = threading.Event(), threading.Event(), []

    def slow():
        calls.append(1)
        started.set()
        release.wait(5)
        return "value"

    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.get_or_compute("k", slow)))
               for _ in range(8)]
    threads[0].start()
    assert started.wait(5)
    for t in threads[1:]:
        t.start()
    release.set()
    for t in threads:
        t.join(5)
    assert results == ["value"] * 8 and len(calls) == 1


def test_a_failed_computation_is_not_shared():
    cache = BoundedCache("test failed", 4)
    started, release = threading.Event(), threading.Event()
    outcomes = []

    def failing():
        started.set()
        release.wait(5)
        raise ValueError("first")

    def attempt(compute):
        try:
            outcomes.append(cache.get_or_compute("k", compute))
        except ValueError as exc:
            outcomes.append(str(exc))

    first = threading.Thread(target=attempt, args=(failing,))
    first.start()
    assert started.wait(5)
    second = threading.Thread(target=attempt, args=(lambda: "second",))
    second.start()
    release.set()
    first.join(5)
    second.join(5)
    assert sorted(outcomes) == ["first", "second"]  # each its own outcome; nothing cached from a failure
    assert cache.get("k") in (None, "second")
