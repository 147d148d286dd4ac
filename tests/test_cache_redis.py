"""The Redis cache against a real ``redis-server`` on loopback (see ``redis_server.py``).

Two processes sharing one server, a server killed mid-run and restarted, passwords kept out of
every message, and a full ``df.hf.classify`` through the fake hub that sends nothing on rerun.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import pandas as pd
import pytest
import redis

import hf_frame
from hf_frame import cli
from hf_frame.cache import RedisCache, open_cache
from hf_frame.config import resolve_settings
from hf_frame.errors import CacheError, CacheWarning
from hf_frame.runtime import get_cache

ROOT = Path(__file__).resolve().parents[1]


def run_python(code: str, timeout: float = 60) -> str:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def raw(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


def test_put_get_flush_info_clear(redis_url):
    cache = RedisCache(redis_url)
    items = {f"k{i}": f"v{i}".encode() for i in range(2500)}  # more than one MGET / MSET chunk
    cache.put_many(items)
    assert cache.get_many(list(items) + ["missing"]) == items  # read-your-writes, written or not
    assert cache.flush(timeout=10)
    server = raw(redis_url)
    assert server.get("hf_frame:k7") == b"v7"  # the engine's keys under the prefix
    server.set("someone-else", b"untouched")
    assert cache.info() == {"entries": 2500, "bytes": sum(map(len, items.values())), "path": redis_url}
    assert cache.clear() == 2500
    assert cache.get_many(["k1"]) == {} and server.dbsize() == 1 and server.get("someone-else") == b"untouched"
    cache.close()


def test_prefix_from_the_url_namespaces_the_keys(redis_url):
    ours = RedisCache(redis_url)
    theirs = open_cache(redis_url + "?prefix=team-b:")
    ours.put_many({"k": b"ours"})
    theirs.put_many({"k": b"theirs"})
    assert ours.flush(10) and theirs.flush(10)
    assert RedisCache(redis_url).get_many(["k"]) == {"k": b"ours"}
    assert raw(redis_url).get("team-b:k") == b"theirs"
    assert theirs.clear() == 1 and ours.info()["entries"] == 1


def test_the_unix_socket_url(redis_server, redis_url):
    cache = open_cache(redis_server.unix_url)
    cache.put_many({"u": b"1"})
    assert cache.flush(10) and RedisCache(redis_url).get_many(["u"]) == {"u": b"1"}
    assert cache.info()["path"] == redis_server.unix_url


def test_two_processes_share_one_server(redis_url):
    cache = RedisCache(redis_url)
    cache.put_many({"from-parent": b"hello"})
    assert cache.flush(10)
    out = run_python(f"""
        from hf_frame.cache import RedisCache
        cache = RedisCache({redis_url!r})
        print(cache.get_many(["from-parent"])["from-parent"].decode())
        cache.put_many({{f"from-child-{{i}}": b"x" for i in range(100)}})
        # no flush: the exit hook writes what is queued
    """)
    assert out.strip() == "hello"
    assert len(cache.get_many([f"from-child-{i}" for i in range(100)])) == 100


def test_a_server_killed_mid_run_loses_no_answer(make_redis_server):
    server = make_redis_server()
    cache = RedisCache(server.url)
    cache.put_many({"before": b"0"})
    assert cache.flush(10)
    server.kill()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        slowest = 0.0
        for i in range(50):
            t0 = time.perf_counter()
            cache.put_many({f"during{i}": b"x"})
            slowest = max(slowest, time.perf_counter() - t0)
            time.sleep(0.01)
        assert slowest < 0.25, f"put_many blocked {slowest:.3f} s with the server down"
        # Answers of this process are still served...
        assert len(cache.get_many([f"during{i}" for i in range(50)])) == 50
        # ...but anything else needs the server: a clear error naming it.
        with pytest.raises(CacheError) as info:
            cache.get_many(["before"])
        assert server.url in str(info.value) and "50 answer(s) of this process" in str(info.value)
        assert cache.flush(timeout=0.5) is False
    down = [str(w.message) for w in caught if issubclass(w.category, CacheWarning)]
    assert len(down) == 1 and server.url in down[0] and "kept in memory" in down[0]
    server.restart()  # the append-only file brings back what was written before the kill
    assert cache.flush(timeout=10) is True
    fresh = RedisCache(server.url)
    assert len(fresh.get_many(["before", *(f"during{i}" for i in range(50))])) == 51
    cache.put_many({"after": b"1"})  # and it just goes on
    assert cache.flush(10) and fresh.get_many(["after"]) == {"after": b"1"}


def test_unreachable_at_first_use_is_a_clear_error_without_the_password(make_redis_server):
    server = make_redis_server()
    port = server.port
    server.stop()
    url = f"redis://:s3cret-pw@127.0.0.1:{port}/0"
    with pytest.raises(CacheError) as info:
        RedisCache(url)
    message = str(info.value)
    assert f"redis://:***@127.0.0.1:{port}/0" in message and "s3cret" not in message
    assert "Connection refused" in message
    with pytest.raises(CacheError, match=r"\*\*\*") as info:
        hf_frame.cache_info(cache=url)
    assert "s3cret" not in str(info.value)
    settings = resolve_settings(cache=url)
    assert "s3cret" not in repr(settings) and settings.cache_location == f"redis://:***@127.0.0.1:{port}/0"
    assert settings.cache_path is None


def test_password_protected_server(make_redis_server):
    server = make_redis_server(password="hunter2-long")
    with pytest.raises(CacheError) as info:
        RedisCache(f"redis://:wrong-one@127.0.0.1:{server.port}/0")
    assert "wrong-one" not in str(info.value) and "***" in str(info.value)
    good = RedisCache(f"redis://:hunter2-long@127.0.0.1:{server.port}/0")
    good.put_many({"k": b"v"})
    assert good.flush(10) and good.info()["path"] == f"redis://:***@127.0.0.1:{server.port}/0"
    server.kill()  # errors raised later do not carry it either
    with pytest.raises(CacheError) as info:
        good.get_many(["other"])
    assert "hunter2" not in str(info.value)


def classify_here_then_in_another_process(hub, url: str, reviews: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``classify`` with ``cache=url`` here, then in a new process (no memory of this one), which
    must read every answer from the server: (this frame, its output)."""
    hf_frame.configure(base_url=hub.base_url, retry_backoff=0.001, cache=url)
    df = pd.DataFrame({"review": reviews})
    first = df.hf.classify("review")
    assert hub.count() == len(set(reviews))
    # Answers are written a few ms after they arrive; make sure they are before another process looks.
    assert get_cache(resolve_settings()).flush(timeout=10)
    hub.reset()
    out = run_python(f"""
        import json, pandas as pd, hf_frame
        hf_frame.configure(base_url={hub.base_url!r}, cache={url!r}, progress=False)
        out = pd.DataFrame({{"review": {reviews!r}}}).hf.classify("review")
        print(json.dumps({{"run": hf_frame.last_run()["requests"], "labels": out["review_label"].tolist()}}))
    """)
    child = json.loads(out.strip().splitlines()[-1])
    assert hub.count() == 0 and child == {"run": 0, "labels": first["review_label"].tolist()}
    return df, first


def test_classify_end_to_end_with_redis(hub, redis_url, capsys):
    df, first = classify_here_then_in_another_process(
        hub, redis_url, ["I love it", "terrible", "I love it", "great value", "meh"])
    again = df.hf.classify("review")
    assert hub.count() == 0 and hf_frame.last_run()["cached"] == 4
    pd.testing.assert_frame_equal(again, first)
    assert hf_frame.cache_info() == {"entries": 4, "bytes": hf_frame.cache_info()["bytes"], "path": redis_url}
    assert cli.main(["cache", "--cache", redis_url]) == 0
    assert capsys.readouterr().out.startswith(f"cache: 4 answers, 0.0 MB in {redis_url}")
    assert hf_frame.clear_cache() == 4 and hf_frame.cache_info()["entries"] == 0


def test_a_tls_server_through_rediss(hub, make_redis_server):
    server = make_redis_server(password="tls-secret-pass", tls=True)
    url = server.url.replace("rediss://", "rediss://:tls-secret-pass@")
    with pytest.raises(CacheError) as info:  # a plain connection to the TLS port is refused clearly
        RedisCache(url.replace("rediss://", "redis://").split("?")[0])
    assert "tls-secret-pass" not in str(info.value)
    classify_here_then_in_another_process(hub, url, ["I love it", "terrible", "I love it"])
    info = hf_frame.cache_info()
    assert info["entries"] == 2 and info["path"].startswith("rediss://:***@127.0.0.1:")
    assert "tls-secret-pass" not in repr(resolve_settings())


@pytest.mark.parametrize("url, shown", [
    ("redis://:pw1@cache.local:6379/0", "redis://:***@cache.local:6379/0"),
    ("rediss://me:pw1@cache.local/2", "rediss://me:***@cache.local/2"),
    ("unix:///run/redis.sock?db=1&password=pw1", "unix:///run/redis.sock?db=1&password=***"),
    ("redis://cache.local:6379/0?prefix=a:", "redis://cache.local:6379/0?prefix=a:"),
])
def test_passwords_are_redacted_wherever_the_url_is_shown(url, shown):
    settings = resolve_settings(cache=url)
    assert settings.cache_location == shown and "pw1" not in repr(settings)
    assert settings.cache_path is None


def test_a_missing_server_binary_fails_under_ci_and_skips_elsewhere(monkeypatch):
    import redis_server

    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="redis-server"):
        redis_server._binary_or_skip()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        redis_server._binary_or_skip()
