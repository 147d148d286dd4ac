"""The persistent default cache: one SQLite file, WAL mode, shared by every call in the process.

Values are written as they arrive (one small transaction per answer), so a run that is
interrupted resumes where it stopped. WAL with ``synchronous=NORMAL`` keeps each commit cheap
(no fsync per write) while staying crash-safe for the database itself.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path
from typing import Iterable, Mapping

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL,
    created REAL NOT NULL DEFAULT (julianday('now'))
) WITHOUT ROWID
"""
_CHUNK = 500  # SQLite limits the number of bound parameters per statement

logger = logging.getLogger(__name__)


class SQLiteCache:
    """Key -> bytes in a SQLite file.

    >>> cache = SQLiteCache("/tmp/hf_frame_doctest.sqlite")
    >>> cache.put_many({"k": b"v"}); cache.get_many(["k", "missing"])
    {'k': b'v'}
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None, timeout=30)
        (mode,) = self._db.execute("PRAGMA journal_mode=WAL").fetchone()
        if str(mode).lower() != "wal":  # e.g. a file system without shared memory: writers then block readers
            logger.warning("cache %s: SQLite could not use WAL mode (got %r); concurrent runs will wait on each other",
                           self.path, mode)
        logger.debug("cache: SQLite file %s (journal mode %s)", self.path, mode)
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)

    def get_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        keys = list(keys)
        found: dict[str, bytes] = {}
        with self._lock:
            for i in range(0, len(keys), _CHUNK):
                part = keys[i : i + _CHUNK]
                marks = ",".join("?" * len(part))
                for key, value in self._db.execute(f"SELECT key, value FROM answers WHERE key IN ({marks})", part):
                    found[key] = bytes(value)
        return found

    def put_many(self, items: Mapping[str, bytes]) -> None:
        if not items:
            return
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR REPLACE INTO answers (key, value) VALUES (?, ?)", list(items.items()))
            self._db.execute("COMMIT")

    def info(self) -> dict:
        with self._lock:
            entries, size = self._db.execute("SELECT count(*), coalesce(sum(length(value)), 0) FROM answers").fetchone()
        return {"entries": entries, "bytes": size, "path": str(self.path)}

    def clear(self) -> int:
        with self._lock:
            (n,) = self._db.execute("SELECT count(*) FROM answers").fetchone()
            self._db.execute("DELETE FROM answers")
            self._db.execute("VACUUM")
        logger.debug("cache %s: cleared %d entries", self.path, n)
        return n

    def close(self) -> None:
        with self._lock:
            self._db.close()
