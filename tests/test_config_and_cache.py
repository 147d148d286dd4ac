"""Settings resolution, secrets hygiene, the cache stores and the public API surface."""

from __future__ import annotations

import threading

import pytest

import hf_frame
from hf_frame.cache import MemoryCache, SQLiteCache
from hf_frame.config import configure, resolve_settings
from hf_frame.core.keys import request_key
from hf_frame.errors import ConfigError


def test_resolution_order(monkeypatch):
    monkeypatch.setenv("HF_FRAME_MAX_CONCURRENCY", "7")
    assert resolve_settings().max_concurrency == 7
    configure(max_concurrency=9)
    assert resolve_settings().max_concurrency == 9
    assert resolve_settings(max_concurrency=3).max_concurrency == 3
    configure()
    assert resolve_settings().max_concurrency == 7


def test_environment_values_are_parsed_and_validated(monkeypatch):
    monkeypatch.setenv("HF_FRAME_PROGRESS", "off")
    monkeypatch.setenv("HF_FRAME_REQUESTS_PER_MINUTE", "3000")
    monkeypatch.setenv("HF_FRAME_CACHE", "false")
    s = resolve_settings()
    assert s.progress is False and s.requests_per_minute == 3000.0 and s.cache is False
    monkeypatch.setenv("HF_FRAME_TIMEOUT", "soon")
    with pytest.raises(ConfigError, match="HF_FRAME_TIMEOUT"):
        resolve_settings()


@pytest.mark.parametrize("bad", [{"max_concurrency": 0}, {"errors": "explode"}, {"base_url": "ftp://x"},
                                 {"timeout": -1}, {"max_retries": -2}])
def test_invalid_settings_name_the_setting(bad):
    name = next(iter(bad))
    with pytest.raises(ConfigError, match=name):
        resolve_settings(**bad)


def test_unknown_setting_is_rejected():
    with pytest.raises(ConfigError, match="unknown setting"):
        configure(concurency=3)


def test_token_sources_and_repr(monkeypatch, tmp_path):
    monkeypatch.delenv("HF_TOKEN")
    (tmp_path / "hf_home").mkdir(exist_ok=True)
    (tmp_path / "hf_home" / "token").write_text("hf_from_file_555\n")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    s = resolve_settings()
    assert s.token == "hf_from_file_555"
    assert "hf_from_file_555" not in repr(s) and "token='***'" in repr(s)
    monkeypatch.setenv("HF_TOKEN", "hf_env_1")
    assert resolve_settings().token == "hf_env_1"


def test_cache_key_ignores_the_token_and_covers_the_rest():
    base = dict(task="t", model="m", route="r", parameters={"a": 1}, item="x")
    assert request_key(**base) == request_key(**{**base, "parameters": {"a": 1}})
    for change in [{"model": "m2"}, {"route": "r2"}, {"parameters": {"a": 2}}, {"item": "y"}, {"task": "u"}]:
        assert request_key(**{**base, **change}) != request_key(**base)
    assert request_key(**{**base, "parameters": {"b": 1, "a": 2}}) == request_key(**{**base, "parameters": {"a": 2, "b": 1}})


@pytest.mark.parametrize("make", [lambda p: SQLiteCache(p / "c.sqlite"), lambda p: MemoryCache()])
def test_cache_stores(make, tmp_path):
    cache = make(tmp_path)
    items = {f"k{i}": f"v{i}".encode() for i in range(1200)}  # more than SQLite's bound-parameter chunk
    cache.put_many(items)
    assert cache.get_many(list(items) + ["missing"]) == items
    assert cache.info()["entries"] == 1200
    assert cache.clear() == 1200 and cache.get_many(["k1"]) == {}


def test_sqlite_cache_persists_and_is_thread_safe(tmp_path):
    path = tmp_path / "c.sqlite"
    cache = SQLiteCache(path)

    def writer(n):
        for i in range(50):
            cache.put_many({f"{n}-{i}": b"x"})

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    cache.close()
    assert SQLiteCache(path).info()["entries"] == 200


def test_cache_false_and_memory(monkeypatch):
    assert hf_frame.cache_info(cache=False) == {"entries": 0, "bytes": 0, "path": None}
    assert hf_frame.cache_info(cache="memory")["path"] is None


def test_public_api_is_sorted_and_complete():
    assert hf_frame.__all__ == sorted(hf_frame.__all__)
    for name in hf_frame.__all__:
        assert hasattr(hf_frame, name), name
    public = {n for n in dir(hf_frame) if not n.startswith("_") and not isinstance(getattr(hf_frame, n), type(hf_frame))}
    assert public - set(hf_frame.__all__) - {"annotations", "importlib"} == set()


def test_token_never_in_job_or_call_reprs():
    from hf_frame import methods

    job = methods.classify("x", token="hf_SECRET_abc")
    assert job.settings.token == "hf_SECRET_abc"
    assert "hf_SECRET_abc" not in repr(job) and "hf_SECRET_abc" not in str(job.calls[0])
