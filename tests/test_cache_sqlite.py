"""The SQLite cache under real trouble: another process holding the write lock, corrupt files,
a read-only directory, a directory deleted mid-session, crashes and exits.

Everything here is real SQLite on disk, with real second processes where the trouble comes from
another process.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import hf_frame
from hf_frame import cli
from hf_frame.cache import SQLiteCache, open_cache
from hf_frame.errors import CacheError, CacheWarning

ROOT = Path(__file__).resolve().parents[1]


def python(code: str, *, prefix: list[str] = (), timeout: float = 60, **popen) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([*prefix, sys.executable, "-c", textwrap.dedent(code)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def run_python(code: str, *, prefix: list[str] = (), timeout: float = 60) -> tuple[str, str]:
    proc = python(code, prefix=prefix)
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err
    return out, err


def stored(path: Path) -> dict[str, bytes]:
    """What another connection (as another process would) sees in the file."""
    db = sqlite3.connect(path)
    try:
        return {k: bytes(v) for k, v in db.execute("SELECT key, value FROM answers")}
    finally:
        db.close()


class LockHolder:
    """A second process that takes the write lock (BEGIN IMMEDIATE) and keeps it ``seconds``."""

    def __init__(self, path: Path, seconds: float):
        self.proc = python(f"""
            import sqlite3, sys, time
            db = sqlite3.connect({str(path)!r}, isolation_level=None)
            db.execute("BEGIN IMMEDIATE")
            print("locked", flush=True)
            time.sleep({seconds})
            db.execute("COMMIT")
            print("released", flush=True)
        """)
        assert self.proc.stdout.readline().strip() == "locked", self.proc.stderr.read()

    def wait(self) -> None:
        out, err = self.proc.communicate(timeout=60)
        assert self.proc.returncode == 0 and "released" in out, err


def test_puts_never_block_while_another_process_holds_the_write_lock(tmp_path):
    path = tmp_path / "c.sqlite"
    cache = SQLiteCache(path)
    cache.put_many({"before": b"0"})
    assert cache.flush(timeout=10)
    cache.warn_after = 0.5  # the default (5 s) is longer than this test wants to wait
    holder = LockHolder(path, seconds=5.0)
    started = time.monotonic()
    slowest = 0.0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for i in range(200):
            t0 = time.perf_counter()
            cache.put_many({f"k{i}": f"v{i}".encode()})
            slowest = max(slowest, time.perf_counter() - t0)
            assert cache.get_many([f"k{i}"]) == {f"k{i}": f"v{i}".encode()}  # readable at once
            time.sleep(0.005)
        assert time.monotonic() - started < 4.0, "the loop must finish while the lock is still held"
        assert slowest < 0.25, f"put_many blocked for {slowest:.3f} s"  # sqlite itself would wait 5 s
        assert cache.flush(timeout=0.3) is False  # still locked: nothing could be written
        assert set(stored(path)) == {"before"}
        assert len(cache.get_many([f"k{i}" for i in range(200)])) == 200
        holder.wait()
        assert cache.flush(timeout=10) is True
    assert len(stored(path)) == 201
    locked = [w for w in caught if issubclass(w.category, CacheWarning)]
    assert len(locked) == 1, [str(w.message) for w in caught]  # once for the whole outage
    assert "locked" in str(locked[0].message) and str(path) in str(locked[0].message)
    # The failed attempts were rolled back: the connection takes new writes normally.
    cache.put_many({"after": b"1"})
    assert cache.flush(timeout=10) and stored(path)["after"] == b"1"
    assert cache.info()["entries"] == 202
    cache.close()


def test_a_short_lock_gives_no_warning_and_clear_names_the_lock(tmp_path):
    path = tmp_path / "c.sqlite"
    cache = SQLiteCache(path)
    cache.put_many({"a": b"1"})
    assert cache.flush(10)
    holder = LockHolder(path, seconds=1.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheWarning)
        cache.put_many({"b": b"2"})
        with pytest.raises(CacheError, match=r"cannot clear .*c\.sqlite.*another process holds the write lock"):
            cache.clear()
        assert cache.get_many(["a", "b"]) == {"a": b"1", "b": b"2"}  # a failed clear removed nothing
        holder.wait()
        assert cache.flush(10)
    assert stored(path) == {"a": b"1", "b": b"2"}
    assert cache.clear() == 2 and stored(path) == {}


def test_group_commit_writes_many_puts_in_few_transactions(tmp_path):
    commits = []

    class Counting(SQLiteCache):
        def _write(self, items):
            super()._write(items)
            commits.append(len(items))

    cache = Counting(tmp_path / "c.sqlite")
    for i in range(2000):
        cache.put_many({f"k{i}": b"x"})
    assert cache.flush(timeout=10)
    assert sum(commits) == 2000 and len(commits) < 200, commits
    assert len(stored(tmp_path / "c.sqlite")) == 2000


def test_flush_semantics(tmp_path):
    path = tmp_path / "c.sqlite"
    cache = SQLiteCache(path)
    assert cache.flush() is True and cache.flush(timeout=0) is True  # nothing queued
    cache.put_many({"a": b"1"})
    assert cache.flush() is True and stored(path) == {"a": b"1"}  # written when flush returns
    holder = LockHolder(path, seconds=2.0)
    cache.put_many({"b": b"2"})
    t0 = time.monotonic()
    assert cache.flush(timeout=0.3) is False
    assert 0.25 < time.monotonic() - t0 < 1.5
    holder.wait()
    assert cache.flush(timeout=10) is True and stored(path) == {"a": b"1", "b": b"2"}


def test_reads_see_their_writes_from_many_threads(tmp_path):
    cache = SQLiteCache(tmp_path / "c.sqlite")

    def work(n):
        missed = []
        for i in range(300):
            key, previous = f"{n}-{i}", f"{n}-{i - 1}"
            cache.put_many({key: key.encode()})
            want = {key: key.encode(), **({previous: previous.encode()} if i else {})}
            if cache.get_many([key, previous]) != want:
                missed.append(key)
        return missed

    with ThreadPoolExecutor(4) as pool:
        assert [m for m in pool.map(work, range(4)) if m] == []
    assert cache.flush(10) and len(stored(tmp_path / "c.sqlite")) == 1200


def test_bulk_reads_are_chunked(tmp_path):
    cache = SQLiteCache(tmp_path / "c.sqlite")
    items = {f"k{i:05d}": b"v" * (i % 7) for i in range(20_000)}
    cache.put_many(items)
    assert cache.flush(10)
    t0 = time.perf_counter()
    assert cache.get_many(list(items) + ["nope"]) == items
    assert time.perf_counter() - t0 < 5


def test_close_flushes_and_the_store_reopens(tmp_path):
    path = tmp_path / "c.sqlite"
    cache = SQLiteCache(path)
    cache.put_many({"a": b"1"})
    assert cache.close() is True and stored(path) == {"a": b"1"}
    cache.put_many({"b": b"2"})  # usable again: reopens
    assert cache.get_many(["a", "b"]) == {"a": b"1", "b": b"2"}
    assert cache.close() is True and SQLiteCache(path).info()["entries"] == 2


def test_an_idle_writer_ends_and_gives_its_connections_back(tmp_path):
    cache = SQLiteCache(tmp_path / "c.sqlite")
    cache.idle_exit = 0.05
    cache.put_many({"a": b"1"})
    assert cache.flush(10)

    def writers():
        return [t for t in threading.enumerate() if t.name == f"hf_frame-cache-writer {cache.location}"]

    deadline = time.monotonic() + 5
    while writers() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert writers() == []
    assert cache.get_many(["a"]) == {"a": b"1"}  # reopened on demand
    cache.put_many({"b": b"2"})
    assert len(writers()) == 1 and cache.flush(10) and stored(tmp_path / "c.sqlite") == {"a": b"1", "b": b"2"}


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_corrupt_file_is_a_clear_error_and_clear_recreates_it(tmp_path, damage):
    path = tmp_path / "cache.sqlite"
    if damage == "garbage":
        path.write_bytes(b"this is not a database at all\n" * 200)
    else:
        good = SQLiteCache(path)
        good.put_many({f"k{i}": os.urandom(200) for i in range(3000)})
        assert good.close()
        assert not Path(f"{path}-wal").exists()
        with open(path, "r+b") as f:
            f.truncate(path.stat().st_size // 2)
    cache = SQLiteCache(path)  # opening does not raise: clear() must stay reachable
    for use in (lambda: cache.get_many(["k1"]), cache.info):
        with pytest.raises(CacheError) as info:
            use()
        message = str(info.value)
        assert str(path) in message and "corrupt" in message
        assert "hf_frame.clear_cache()" in message and "hf-frame cache --clear" in message
    assert cache.clear() == 0
    assert cache.get_many(["k1"]) == {}
    cache.put_many({"k": b"v"})
    assert cache.flush(10) and stored(path) == {"k": b"v"}


def test_a_corrupt_default_cache_through_the_public_functions_and_the_cli(tmp_path, monkeypatch, capsys):
    directory = tmp_path / "hf_frame_cache"
    directory.mkdir()
    (directory / "cache.sqlite").write_bytes(b"\0garbage" * 1000)
    with pytest.raises(CacheError, match="is corrupt"):
        hf_frame.cache_info()
    assert cli.main(["cache"]) == 1 and "is corrupt" in capsys.readouterr().err
    assert cli.main(["cache", "--clear"]) == 0
    assert "removed 0 answers" in capsys.readouterr().out
    assert hf_frame.cache_info()["entries"] == 0


def _unprivileged() -> list[str]:
    """A command prefix under which permission bits apply (root ignores them otherwise)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: a read-only directory cannot be simulated")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search,-fowner,-linux_immutable"]


def test_a_read_only_directory_still_serves_reads(tmp_path):
    directory = tmp_path / "ro"
    good = SQLiteCache(directory / "cache.sqlite")
    good.put_many({"a": b"1", "b": b"2"})
    assert good.close()
    (directory / "empty").mkdir()
    for p in (directory / "cache.sqlite", directory / "empty", directory):
        p.chmod(0o555 if p.is_dir() else 0o444)
    try:
        out, _ = run_python(f"""
            import json, warnings
            from hf_frame.cache import SQLiteCache
            from hf_frame.errors import CacheError, CacheWarning
            cache = SQLiteCache({str(directory / "cache.sqlite")!r})
            result = {{"read": {{k: v.decode() for k, v in cache.get_many(["a", "b", "c"]).items()}},
                       "info": cache.info()["entries"]}}
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                cache.put_many({{"c": b"3"}})
                cache.put_many({{"d": b"4"}})
            result["warnings"] = [str(w.message) for w in caught if w.category is CacheWarning]
            result["kept"] = sorted(cache.get_many(["a", "c", "d"]))
            result["flushed"] = cache.flush(timeout=1)
            try:
                SQLiteCache({str(directory / "empty" / "cache.sqlite")!r})
            except CacheError as exc:
                result["missing"] = str(exc)
            print(json.dumps(result))
        """, prefix=_unprivileged())
    finally:
        for p in (directory, directory / "empty", directory / "cache.sqlite"):
            p.chmod(0o755 if p.is_dir() else 0o644)
    result = json.loads(out.strip().splitlines()[-1])
    assert result["read"] == {"a": "1", "b": "2"} and result["info"] == 2
    assert len(result["warnings"]) == 1 and "cannot be written" in result["warnings"][0]
    assert str(directory) in result["warnings"][0]
    assert result["kept"] == ["a", "c", "d"] and result["flushed"] is False
    assert str(directory / "empty") in result["missing"] and "not writable" in result["missing"]
    assert stored(directory / "cache.sqlite") == {"a": b"1", "b": b"2"}


def test_a_deleted_directory_is_recreated_on_the_next_write(tmp_path):
    directory = tmp_path / "gone"
    cache = SQLiteCache(directory / "cache.sqlite")
    cache.put_many({"old": b"1"})
    assert cache.flush(10)
    shutil.rmtree(directory)
    cache.put_many({"new": b"2"})
    assert cache.flush(10)
    assert stored(directory / "cache.sqlite") == {"new": b"2"}
    assert cache.get_many(["old", "new"]) == {"new": b"2"}  # reads follow the new file
    # A file replaced under us (another process cleared a corrupt copy) is noticed the same way.
    os.unlink(directory / "cache.sqlite")
    SQLiteCache(directory / "cache.sqlite").close()
    cache.put_many({"third": b"3"})
    assert cache.flush(10) and stored(directory / "cache.sqlite") == {"third": b"3"}


def test_answers_reach_the_file_at_exit_and_within_the_window_on_a_crash(tmp_path):
    path = tmp_path / "c.sqlite"
    run_python(f"""
        from hf_frame.cache import SQLiteCache
        cache = SQLiteCache({str(path)!r})
        cache.put_many({{f"k{{i}}": b"x" for i in range(1000)}})
    """)  # a normal exit: the atexit hook flushes
    assert len(stored(path)) == 1000
    run_python(f"""
        import os, time
        from hf_frame.cache import SQLiteCache
        cache = SQLiteCache({str(path)!r})
        for i in range(50):
            cache.put_many({{f"crash{{i}}": b"x"}})
        time.sleep(0.2)  # well past the group-commit window
        os._exit(0)  # no atexit, no flush: as if killed
    """)
    assert len(stored(path)) == 1050


def test_exit_warns_how_many_answers_could_not_be_written(tmp_path):
    path = tmp_path / "c.sqlite"
    SQLiteCache(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        _, err = run_python(f"""
            import hf_frame.cache.buffered as buffered
            from hf_frame.cache import SQLiteCache
            buffered.EXIT_TIMEOUT = 0.5
            cache = SQLiteCache({str(path)!r})
            cache.put_many({{f"k{{i}}": b"x" for i in range(7)}})
        """)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert "CacheWarning" in err and "7 cached answer(s) could not be written" in err
    assert str(path) in err and "locked" in err
    assert err.count("could not be written") == 1


def test_open_cache_picks_the_store(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert open_cache(False) is None and open_cache(None) is None
    assert open_cache("memory").info()["path"] is None
    assert open_cache(True).path == tmp_path / "hf_frame" / "cache.sqlite"


def test_open_cache_with_a_directory_or_a_file(tmp_path):
    assert open_cache(str(tmp_path / "d")).path == tmp_path / "d" / "cache.sqlite"
    assert open_cache(tmp_path / "x.db").path == tmp_path / "x.db"
